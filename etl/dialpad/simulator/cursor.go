package simulator

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/simulator/traffic"
)

// A cursor is opaque to clients: the base64 of the query it continues
// (target, started_after, started_before), the keyset (date_started,
// call_id) of the last leg served and the number of the next page. Pages
// stay stable while new calls end: a leg that ends later appears on a page
// only if it sorts after the cursor.
type cursor struct {
	typ  string
	id   int64
	w    traffic.Window
	page int // pages served before the one this cursor asks for
}

var errBadCursor = errors.New("invalid cursor")

func (c cursor) encode() string {
	opt := func(ok bool, v int64) string {
		if !ok {
			return "-"
		}
		return strconv.FormatInt(v, 10)
	}
	raw := fmt.Sprintf("v1|%s|%d|%s|%s|%d|%d|%d", c.typ, c.id,
		opt(c.w.HasAfter, c.w.After), opt(c.w.HasBefore, c.w.Before),
		c.w.LastStarted, c.w.LastID, c.page)
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

func decodeCursor(s string) (cursor, error) {
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
	if err != nil {
		return cursor{}, errBadCursor
	}
	f := strings.Split(string(raw), "|")
	if len(f) != 8 || f[0] != "v1" {
		return cursor{}, errBadCursor
	}
	var c cursor
	var errs [6]error
	c.typ = f[1]
	c.id, errs[0] = strconv.ParseInt(f[2], 10, 64)
	if f[3] != "-" {
		c.w.HasAfter = true
		c.w.After, errs[1] = strconv.ParseInt(f[3], 10, 64)
	}
	if f[4] != "-" {
		c.w.HasBefore = true
		c.w.Before, errs[2] = strconv.ParseInt(f[4], 10, 64)
	}
	c.w.HasLast = true
	c.w.LastStarted, errs[3] = strconv.ParseInt(f[5], 10, 64)
	c.w.LastID, errs[4] = strconv.ParseInt(f[6], 10, 64)
	c.page, errs[5] = strconv.Atoi(f[7])
	if errors.Join(errs[:]...) != nil || c.page < 1 {
		return cursor{}, errBadCursor
	}
	return c, nil
}
