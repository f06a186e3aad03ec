package derive

import (
	"context"
	"fmt"
	"strings"
)

// stmt is a statement, or a piece of one, with its arguments in the order
// of its placeholders. A piece that carries placeholders of its own is
// placed with its arguments, so that an argument can never land in
// another's placeholder however the pieces are arranged.
type stmt struct {
	sql  string
	args []any
}

// sqlOf builds a statement from template: each ? takes the next of args,
// each {name} the piece parts[name], its SQL and, at that place, its
// arguments. It panics when template's placeholders and args, or its
// slots and parts, do not agree: a statement built wrong is a bug, and
// every statement is built by the tests.
func sqlOf(template string, parts map[string]stmt, args ...any) stmt {
	var b strings.Builder
	var out []any
	used := map[string]bool{}
	for rest := template; rest != ""; {
		i := strings.IndexAny(rest, "?{")
		if i < 0 {
			b.WriteString(rest)
			break
		}
		b.WriteString(rest[:i])
		if rest[i] == '?' {
			if len(args) == 0 {
				panic(fmt.Sprintf("statement has more placeholders than arguments: %.80q", template))
			}
			b.WriteByte('?')
			out, args, rest = append(out, args[0]), args[1:], rest[i+1:]
			continue
		}
		end := strings.IndexByte(rest[i:], '}')
		if end < 0 {
			panic(fmt.Sprintf("statement has an unclosed slot: %.80q", template))
		}
		name := rest[i+1 : i+end]
		part, ok := parts[name]
		if !ok {
			panic(fmt.Sprintf("statement has no piece for {%s}: %.80q", name, template))
		}
		used[name] = true
		b.WriteString(part.sql)
		out, rest = append(out, part.args...), rest[i+end+1:]
	}
	if len(args) > 0 {
		panic(fmt.Sprintf("statement has %d arguments more than placeholders: %.80q", len(args), template))
	}
	for name := range parts {
		if !used[name] {
			panic(fmt.Sprintf("statement has no slot {%s}: %.80q", name, template))
		}
	}
	return stmt{sql: b.String(), args: out}
}

// text is a piece of SQL without placeholders.
func text(sql string) stmt { return stmt{sql: sql} }

func (d *Deriver) exec(ctx context.Context, s stmt) error { return d.db.Exec(ctx, s.sql, s.args...) }
