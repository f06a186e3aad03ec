package dialpad

import (
	"encoding/json"
	"fmt"
	"unicode"
	"unicode/utf8"
)

// scanner is the JSON tokenizer under DecodePage and DecodeCall. It accepts
// exactly the documents encoding/json accepts (same grammar, same nesting
// limit) and decodes strings the same way, so that the hand-written
// decoders in decode.go agree with json.Unmarshal; FuzzDecodeCall checks it.
type scanner struct {
	data  []byte
	i     int
	depth int
}

// maxDepth is encoding/json's nesting limit.
const maxDepth = 10000

// syntaxError: the input is not JSON. On a page, the whole body is bad.
type syntaxError struct {
	off int
	msg string
}

func (e *syntaxError) Error() string { return fmt.Sprintf("invalid JSON at byte %d: %s", e.off, e.msg) }

// fieldError: valid JSON, but a field holds something it cannot. Only the
// leg it is in is rejected.
type fieldError struct {
	path string
	msg  string
}

func (e *fieldError) Error() string {
	if e.path == "" {
		return e.msg
	}
	return e.path + ": " + e.msg
}

// within prefixes the path of a fieldError with the field that holds it.
func within(prefix string, err error) error {
	if fe, ok := err.(*fieldError); ok {
		switch {
		case fe.path == "":
			return &fieldError{path: prefix, msg: fe.msg}
		case fe.path[0] == '[' || prefix == "":
			return &fieldError{path: prefix + fe.path, msg: fe.msg}
		}
		return &fieldError{path: prefix + "." + fe.path, msg: fe.msg}
	}
	return err
}

func (s *scanner) syntax(msg string) error { return &syntaxError{off: s.i, msg: msg} }

func (s *scanner) unexpected(want string) error {
	if s.i >= len(s.data) {
		return s.syntax("unexpected end of input, want " + want)
	}
	return s.syntax(fmt.Sprintf("unexpected %q, want %s", s.data[s.i], want))
}

// peek skips white space and returns the next byte, or 0 at the end.
func (s *scanner) peek() byte {
	for s.i < len(s.data) {
		switch c := s.data[s.i]; c {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return c
		}
	}
	return 0
}

// end checks that only white space follows the top-level value.
func (s *scanner) end() error {
	if s.peek(); s.i != len(s.data) {
		return s.syntax(fmt.Sprintf("unexpected %q after the top-level value", s.data[s.i]))
	}
	return nil
}

// open consumes '{' or '[' (already peeked) and counts the nesting depth.
func (s *scanner) open() error {
	s.i++
	s.depth++
	if s.depth > maxDepth {
		return s.syntax("exceeded max depth")
	}
	return nil
}

// empty reports (and consumes) an immediately closing '}' or ']'.
func (s *scanner) empty(close byte) bool {
	if s.peek() == close {
		s.i++
		s.depth--
		return true
	}
	return false
}

// more consumes the ',' before another member or element (true) or the
// closing byte (false).
func (s *scanner) more(close byte) (bool, error) {
	switch s.peek() {
	case ',':
		s.i++
		return true, nil
	case close:
		s.i++
		s.depth--
		return false, nil
	}
	return false, s.unexpected("',' or '" + string(close) + "'")
}

// key reads an object key and the ':' after it. The key aliases the input
// unless it had to be unescaped.
func (s *scanner) key() ([]byte, error) {
	if s.peek() != '"' {
		return nil, s.unexpected("a string key")
	}
	start, end, escaped, _, err := s.scanString()
	if err != nil {
		return nil, err
	}
	k := s.data[start:end]
	if escaped {
		var u string
		if err := json.Unmarshal(s.data[start-1:end+1], &u); err != nil {
			return nil, s.syntax(err.Error())
		}
		k = []byte(u)
	}
	if s.peek() != ':' {
		return nil, s.unexpected("':'")
	}
	s.i++
	return k, nil
}

// strPlain marks the bytes a string can hold without a second look.
var strPlain = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// scanString scans the string at s.data[s.i] (a '"') and returns the bounds of its
// contents, whether it has escapes and whether it has non-ASCII bytes.
func (s *scanner) scanString() (start, end int, escaped, nonASCII bool, err error) {
	data := s.data
	i := s.i + 1
	start = i
	for {
		for i < len(data) && strPlain[data[i]] {
			i++
		}
		if i >= len(data) {
			s.i = i
			return 0, 0, false, false, s.syntax("unexpected end of input in a string")
		}
		switch c := data[i]; {
		case c == '"':
			s.i = i + 1
			return start, i, escaped, nonASCII, nil
		case c == '\\':
			escaped = true
			if i+1 >= len(data) {
				s.i = i + 1
				return 0, 0, false, false, s.syntax("unexpected end of input in a string escape")
			}
			switch data[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				for j := i + 2; j < i+6; j++ {
					if j >= len(data) {
						s.i = j
						return 0, 0, false, false, s.syntax("unexpected end of input in a \\u escape")
					}
					if !isHex(data[j]) {
						s.i = j
						return 0, 0, false, false, s.syntax("invalid character in a \\u escape")
					}
				}
				i += 6
			default:
				s.i = i + 1
				return 0, 0, false, false, s.syntax("invalid escape in a string")
			}
		case c < 0x20:
			s.i = i
			return 0, 0, false, false, s.syntax("control character in a string")
		default: // non-ASCII
			nonASCII = true
			i++
		}
	}
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// strValue decodes the string at s.i as encoding/json would: escapes
// resolved, invalid UTF-8 replaced by U+FFFD.
func (s *scanner) strValue() (string, error) {
	start, end, escaped, nonASCII, err := s.scanString()
	if err != nil {
		return "", err
	}
	b := s.data[start:end]
	if !escaped && (!nonASCII || utf8.Valid(b)) {
		return intern(b), nil
	}
	var out string
	if err := json.Unmarshal(s.data[start-1:end+1], &out); err != nil {
		return "", s.syntax(err.Error())
	}
	return out, nil
}

// intern returns the frequent short values without allocating.
func intern(b []byte) string {
	switch string(b) {
	case "":
		return ""
	case "inbound":
		return "inbound"
	case "outbound":
		return "outbound"
	case "hangup":
		return "hangup"
	case "missed":
		return "missed"
	case "voicemail":
		return "voicemail"
	case "user":
		return "user"
	case "department":
		return "department"
	case "callcenter":
		return "callcenter"
	case "office":
		return "office"
	case "room":
		return "room"
	case "local":
		return "local"
	case "call_recording":
		return "call_recording"
	}
	return string(b)
}

// num scans a number and returns its bounds.
func (s *scanner) num() (start, end int, err error) {
	data := s.data
	i := s.i
	start = i
	if i < len(data) && data[i] == '-' {
		i++
	}
	switch {
	case i < len(data) && data[i] == '0':
		i++
	case i < len(data) && '1' <= data[i] && data[i] <= '9':
		for i < len(data) && '0' <= data[i] && data[i] <= '9' {
			i++
		}
	default:
		s.i = i
		return 0, 0, s.unexpected("a digit")
	}
	if i < len(data) && data[i] == '.' {
		i++
		if i >= len(data) || data[i] < '0' || data[i] > '9' {
			s.i = i
			return 0, 0, s.unexpected("a digit after '.'")
		}
		for i < len(data) && '0' <= data[i] && data[i] <= '9' {
			i++
		}
	}
	if i < len(data) && (data[i] == 'e' || data[i] == 'E') {
		i++
		if i < len(data) && (data[i] == '+' || data[i] == '-') {
			i++
		}
		if i >= len(data) || data[i] < '0' || data[i] > '9' {
			s.i = i
			return 0, 0, s.unexpected("a digit in the exponent")
		}
		for i < len(data) && '0' <= data[i] && data[i] <= '9' {
			i++
		}
	}
	s.i = i
	return start, i, nil
}

// lit consumes the literal true, false or null.
func (s *scanner) lit(word string) error {
	for k := 0; k < len(word); k++ {
		if s.i >= len(s.data) {
			return s.syntax("unexpected end of input in a literal")
		}
		if s.data[s.i] != word[k] {
			return s.syntax(fmt.Sprintf("invalid character %q in literal %s", s.data[s.i], word))
		}
		s.i++
	}
	return nil
}

// token scans any value and returns its bytes.
func (s *scanner) token() ([]byte, error) {
	s.peek()
	start := s.i
	if err := s.skip(); err != nil {
		return nil, err
	}
	return s.data[start:s.i], nil
}

// skip scans (and validates) any value.
func (s *scanner) skip() error {
	switch c := s.peek(); c {
	case '"':
		_, _, _, _, err := s.scanString()
		return err
	case '{':
		if err := s.open(); err != nil {
			return err
		}
		if s.empty('}') {
			return nil
		}
		for {
			if _, err := s.key(); err != nil {
				return err
			}
			if err := s.skip(); err != nil {
				return err
			}
			if more, err := s.more('}'); err != nil || !more {
				return err
			}
		}
	case '[':
		if err := s.open(); err != nil {
			return err
		}
		if s.empty(']') {
			return nil
		}
		for {
			if err := s.skip(); err != nil {
				return err
			}
			if more, err := s.more(']'); err != nil || !more {
				return err
			}
		}
	case 't':
		return s.lit("true")
	case 'f':
		return s.lit("false")
	case 'n':
		return s.lit("null")
	default:
		if c == '-' || '0' <= c && c <= '9' {
			_, _, err := s.num()
			return err
		}
		return s.unexpected("a value")
	}
}

// kind names the JSON type of the value starting with c.
func kind(c byte) string {
	switch c {
	case '"':
		return "a string"
	case '{':
		return "an object"
	case '[':
		return "an array"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

// typeError rejects the value at s.i for field path, after checking that it
// is valid JSON at all (a syntax error takes precedence).
func (s *scanner) typeError(path, want string) error {
	got := kind(s.peek())
	if err := s.skip(); err != nil {
		return err
	}
	return &fieldError{path: path, msg: "want " + want + ", got " + got}
}

// foldName folds a key the way encoding/json matches keys to fields
// case-insensitively (its foldName: ASCII upper case, Unicode simple folding).
func foldName(in []byte) []byte {
	out := make([]byte, 0, len(in))
	for i := 0; i < len(in); {
		if c := in[i]; c < utf8.RuneSelf {
			if 'a' <= c && c <= 'z' {
				c -= 'a' - 'A'
			}
			out = append(out, c)
			i++
			continue
		}
		r, n := utf8.DecodeRune(in[i:])
		for {
			r2 := unicode.SimpleFold(r)
			if r2 <= r {
				r = r2
				break
			}
			r = r2
		}
		out = utf8.AppendRune(out, r)
		i += n
	}
	return out
}

// fieldSet matches keys that are not spelled exactly like a field but
// equal one case-insensitively, as encoding/json does.
type fieldSet map[string]string // folded name -> field name

func newFieldSet(names ...string) fieldSet {
	m := make(fieldSet, len(names))
	for _, n := range names {
		m[string(foldName([]byte(n)))] = n
	}
	return m
}

// match returns the field key folds to, if any. Field names are lower-case
// ASCII, so only keys with upper-case or non-ASCII bytes can fold to one.
func (f fieldSet) match(key []byte) ([]byte, bool) {
	for _, c := range key {
		if 'A' <= c && c <= 'Z' || c >= utf8.RuneSelf {
			name, ok := f[string(foldName(key))]
			return []byte(name), ok
		}
	}
	return nil, false
}
