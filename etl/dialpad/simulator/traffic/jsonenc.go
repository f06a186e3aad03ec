package traffic

import (
	"strconv"
	"unicode/utf8"
)

// Hand-written JSON helpers for the hot path: no reflection, no maps, one
// growing buffer.

const hexDigits = "0123456789abcdef"

// AppendString appends s as a JSON string, escaping quotes, backslashes,
// control characters, U+2028/U+2029 and invalid UTF-8 (as U+FFFD), like
// encoding/json minus its HTML escaping.
func AppendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendQuotedInt appends n as a JSON string: Dialpad's encoding of
// 64-bit integers.
func appendQuotedInt(b []byte, n int64) []byte {
	b = append(b, '"')
	b = strconv.AppendInt(b, n, 10)
	return append(b, '"')
}

// AppendMillisFrac appends ms minus frac thousandths as a JSON number with
// a fraction, e.g. 10937 and 578 give 10936.422.
func AppendMillisFrac(b []byte, ms int64, frac int64) []byte {
	if ms <= 0 {
		return append(b, '0')
	}
	v := ms*1000 - frac
	b = strconv.AppendInt(b, v/1000, 10)
	f := v % 1000
	if f == 0 {
		return b
	}
	b = append(b, '.', byte('0'+f/100))
	if f%100 != 0 {
		b = append(b, byte('0'+f/10%10))
		if f%10 != 0 {
			b = append(b, byte('0'+f%10))
		}
	}
	return b
}

// party renders a participant ({"email","id","name","phone","type"},
// unset fields omitted).
func renderParty(email string, id int64, name, phone, typ string) []byte {
	b := []byte{'{'}
	sep := false
	field := func(k string) {
		if sep {
			b = append(b, ',')
		}
		sep = true
		b = append(b, '"')
		b = append(b, k...)
		b = append(b, '"', ':')
	}
	if email != "" {
		field("email")
		b = AppendString(b, email)
	}
	field("id")
	b = appendQuotedInt(b, id)
	if name != "" {
		field("name")
		b = AppendString(b, name)
	}
	if phone != "" {
		field("phone")
		b = AppendString(b, phone)
	}
	field("type")
	b = AppendString(b, typ)
	return append(b, '}')
}
