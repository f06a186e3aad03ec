// Package docs_test keeps the reference in docs/ complete: every setting
// the code reads is on the configuration page, every table the schema
// leaves is on the tables page, every metric the code names is on the
// monitoring page, the README links every page, and no relative link of
// the README or of a page leads nowhere.
package docs_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"unicode"
)

// root is the repository, seen from this package's folder.
const root = ".."

// The fewest names each source is expected to give: a parser that finds
// fewer has stopped seeing them, and would pass anything.
const (
	minEnvTags     = 40 // env:"..." tags of the configuration struct
	minGetenv      = 5  // os.Getenv / os.LookupEnv of a literal name
	minSchemaTable = 15 // tables left by the migrations in schema/
	minGoTables    = 2  // CREATE TABLE literals in Go (schema_migrations, etl_leases)
	minPages       = 10 // docs/*.md
	minLinks       = 30 // relative links of the README and the pages
	minMetrics     = 20 // metric names (dialpad_etl_...) in Go string literals
)

// A name found in the code, and where.
type found struct {
	name, where string
}

// TestConfigurationDocumentsEverySetting checks that every variable the
// code reads, through an env struct tag or os.Getenv / os.LookupEnv of a
// literal, is named in backticks on the configuration page. Variables
// read by the test kit and the benchmarks (non-test files all the same)
// count too: the page has a section for them.
func TestConfigurationDocumentsEverySetting(t *testing.T) {
	tags, getenv := settingsInCode(t)
	if len(tags) < minEnvTags {
		t.Errorf("found %d env tags, want at least %d: does the parser still see them?", len(tags), minEnvTags)
	}
	if len(getenv) < minGetenv {
		t.Errorf("found %d variables read with os.Getenv or os.LookupEnv, want at least %d", len(getenv), minGetenv)
	}
	page := read(t, "docs/configuration.md")
	for _, f := range append(tags, getenv...) {
		if !strings.Contains(page, "`"+f.name+"`") {
			t.Errorf("docs/configuration.md does not document `%s` (read at %s)", f.name, f.where)
		}
	}
	t.Logf("%d settings from env tags, %d from os.Getenv/LookupEnv", len(tags), len(getenv))
}

// TestTablesDocumentsEveryTable checks that every table the migrations of
// schema/ leave, and every table Go code creates, is named in backticks
// on the tables page. The staging tables (*_stage) count too: they are in
// every warehouse, and a reader who lists its tables meets them.
func TestTablesDocumentsEveryTable(t *testing.T) {
	schema := tablesOfSchema(t)
	if len(schema) < minSchemaTable {
		t.Errorf("the migrations leave %d tables, want at least %d: does the parser still see them?", len(schema), minSchemaTable)
	}
	inGo := tablesInGo(t)
	if len(inGo) < minGoTables {
		t.Errorf("found %d CREATE TABLE literals in Go, want at least %d", len(inGo), minGoTables)
	}
	page := read(t, "docs/tables.md")
	for _, f := range append(schema, inGo...) {
		if !strings.Contains(page, "`"+f.name+"`") {
			t.Errorf("docs/tables.md does not document `%s` (created by %s)", f.name, f.where)
		}
	}
	t.Logf("%d tables from schema/, %d from Go", len(schema), len(inGo))
}

// TestMonitoringDocumentsEveryMetric checks that every metric the code
// names, a string literal dialpad_etl_..., is named in backticks on the
// monitoring page (alone or with its labels, `name{label}`).
func TestMonitoringDocumentsEveryMetric(t *testing.T) {
	metrics := metricsInCode(t)
	if len(metrics) < minMetrics {
		t.Errorf("found %d metric names, want at least %d: does the parser still see them?", len(metrics), minMetrics)
	}
	page := read(t, "docs/monitoring.md")
	for _, f := range metrics {
		if !strings.Contains(page, "`"+f.name+"`") && !strings.Contains(page, "`"+f.name+"{") {
			t.Errorf("docs/monitoring.md does not document `%s` (named at %s)", f.name, f.where)
		}
	}
	t.Logf("%d metrics", len(metrics))
}

// TestReadmeLinksEveryPage checks that the README, the front page, links
// every page of docs/.
func TestReadmeLinksEveryPage(t *testing.T) {
	pages := docPages(t)
	if len(pages) < minPages {
		t.Errorf("found %d pages in docs/, want at least %d", len(pages), minPages)
	}
	linked := map[string]bool{}
	for _, l := range linksOf(t, "README.md") {
		if target, _, ok := l.local(); ok {
			linked[target] = true
		}
	}
	for _, p := range pages {
		if !linked[p] {
			t.Errorf("README.md does not link %s", p)
		}
	}
}

// TestLinksResolve checks every relative link of the README and of the
// pages: its file exists, and its anchor, in a markdown file, is one of
// that file's headings as GitHub names them.
func TestLinksResolve(t *testing.T) {
	files := append([]string{"README.md"}, docPages(t)...)
	anchors := map[string]map[string]bool{}
	n := 0
	for _, file := range files {
		for _, l := range linksOf(t, file) {
			target, anchor, ok := l.local()
			if !ok {
				continue
			}
			n++
			if target == ".." || strings.HasPrefix(target, "../") {
				t.Errorf("%s:%d: link to %s: leads out of the repository", file, l.line, l.url)
				continue
			}
			info, err := os.Stat(filepath.Join(root, filepath.FromSlash(target)))
			if err != nil {
				t.Errorf("%s:%d: link to %s: no such file", file, l.line, l.url)
				continue
			}
			if anchor == "" || info.IsDir() || !strings.HasSuffix(target, ".md") {
				continue
			}
			if anchors[target] == nil {
				anchors[target] = anchorsOf(read(t, target))
			}
			if !anchors[target][anchor] {
				t.Errorf("%s:%d: link to %s: %s has no heading with the anchor #%s", file, l.line, l.url, target, anchor)
			}
		}
	}
	if n < minLinks {
		t.Errorf("found %d relative links, want at least %d", n, minLinks)
	}
	t.Logf("%d relative links in %d files", n, len(files))
}

// The parsers themselves, on what they must and must not see.

func TestReplayMigrations(t *testing.T) {
	files := []sqlFile{
		{"001.sql", "-- CREATE TABLE commented_out\nCREATE TABLE IF NOT EXISTS a (x UInt8) ENGINE = Memory;\nCREATE TABLE b (x UInt8) ENGINE = Memory;\nCREATE TABLE `db`.`q` AS a;"},
		{"002.sql", "DROP TABLE IF EXISTS a_old;\nCREATE TABLE a_new AS a;\nRENAME TABLE a TO a_old, a_new TO a;\nDROP TABLE a_old;\ndrop table if exists b;"},
		{"003.sql", "create table if not exists c (s String DEFAULT 'x;y') ENGINE = Memory;\nRENAME TABLE c TO d;"},
	}
	got := names(replay(files))
	want := []string{"a", "d", "q"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("replay: %v, want %v", got, want)
	}
}

func TestCreatedTable(t *testing.T) {
	for text, want := range map[string]string{
		"CREATE TABLE IF NOT EXISTS etl_leases\n\t(name String)": "etl_leases",
		"create table calls_native AS calls":                     "calls_native",
		"CREATE TABLE `db`.`t` (x UInt8)":                        "t",
		"CREATE TABLE IF NOT EXISTS ":                            "", // built at run time
		"CREATE TABLE %s":                                        "",
		`(?is)^CREATE TABLE (IF NOT EXISTS )?(\w+)\s*`:           "", // a regular expression
		"SELECT 1": "",
	} {
		var got []string
		for _, m := range reCreate.FindAllStringSubmatch(text, -1) {
			if name := tableName(m); name != "" {
				got = append(got, name)
			}
		}
		if want == "" && len(got) > 0 || want != "" && !reflect.DeepEqual(got, []string{want}) {
			t.Errorf("%q: %v, want %q", text, got, want)
		}
	}
}

func TestSlug(t *testing.T) {
	for heading, want := range map[string]string{
		"Running on a cluster":                         "running-on-a-cluster",
		"Changing `ETL_TIMEZONE`":                      "changing-etl_timezone",
		"The Go runtime, the tests and the benchmarks": "the-go-runtime-the-tests-and-the-benchmarks",
		"Dashboards (Docker Compose)":                  "dashboards-docker-compose",
		"Contact-center KPIs":                          "contact-center-kpis",
		"See [the page](other.md) — now":               "see-the-page--now",
		"2 shards × 2 replicas":                        "2-shards--2-replicas",
	} {
		if got := slug(heading); got != want {
			t.Errorf("slug(%q) = %q, want %q", heading, got, want)
		}
	}
	got := anchorsOf("# A\n\n```\n# not a heading\n```\n\n## A\n### B ###\n")
	want := map[string]bool{"a": true, "a-1": true, "b": true}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("anchors: %v, want %v", got, want)
	}
}

// Settings.

// settingsInCode returns the variables named by env struct tags in every
// non-test Go file of the repository, and those read with os.Getenv or
// os.LookupEnv of a string literal, each once in each list.
func settingsInCode(t *testing.T) (tags, getenv []found) {
	seen := map[*[]found]map[string]bool{&tags: {}, &getenv: {}}
	add := func(list *[]found, name, where string) {
		if name != "" && !seen[list][name] {
			seen[list][name] = true
			*list = append(*list, found{name, where})
		}
	}
	for _, file := range goFiles(t) {
		fset, f := parse(t, file)
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.Field:
				if n.Tag == nil {
					break
				}
				tag, err := strconv.Unquote(n.Tag.Value)
				if err != nil {
					t.Fatalf("%s: tag %s: %v", fset.Position(n.Pos()), n.Tag.Value, err)
				}
				if env, ok := reflect.StructTag(tag).Lookup("env"); ok {
					name, _, _ := strings.Cut(env, ",")
					add(&tags, strings.TrimSpace(name), position(fset, n.Pos()))
				}
			case *ast.CallExpr:
				sel, ok := n.Fun.(*ast.SelectorExpr)
				if !ok || len(n.Args) == 0 {
					break
				}
				if pkg, ok := sel.X.(*ast.Ident); !ok || pkg.Name != "os" || sel.Sel.Name != "Getenv" && sel.Sel.Name != "LookupEnv" {
					break
				}
				if lit, ok := n.Args[0].(*ast.BasicLit); ok && lit.Kind == token.STRING {
					name, err := strconv.Unquote(lit.Value)
					if err != nil {
						t.Fatalf("%s: %v", fset.Position(lit.Pos()), err)
					}
					add(&getenv, name, position(fset, n.Pos()))
				}
			}
			return true
		})
	}
	return tags, getenv
}

// Metrics.

// reMetric is a whole string literal that names a metric of the job.
var reMetric = regexp.MustCompile(`^dialpad_etl_[a-z0-9_]+$`)

// metricsInCode returns the string literals of non-test Go files that
// are a metric's name, each once.
func metricsInCode(t *testing.T) []found {
	seen := map[string]bool{}
	var out []found
	for _, file := range goFiles(t) {
		fset, f := parse(t, file)
		ast.Inspect(f, func(n ast.Node) bool {
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			name, err := strconv.Unquote(lit.Value)
			if err != nil {
				t.Fatalf("%s: %v", fset.Position(lit.Pos()), err)
			}
			if reMetric.MatchString(name) && !seen[name] {
				seen[name] = true
				out = append(out, found{name, position(fset, lit.Pos())})
			}
			return true
		})
	}
	return out
}

// Tables.

// reCreate, reDrop and reRename find the statements that change the set
// of tables; each is followed by the table's name (or the renames), read
// by tableName and renames. A name may be qualified by its database and
// quoted with backticks or double quotes.
var (
	reCreate = regexp.MustCompile("(?i)\\bCREATE\\s+TABLE\\s+(IF\\s+NOT\\s+EXISTS\\s+)?" + nameRE)
	reDrop   = regexp.MustCompile("(?i)\\bDROP\\s+TABLE\\s+(IF\\s+EXISTS\\s+)?" + nameRE)
	reRename = regexp.MustCompile("(?is)\\bRENAME\\s+TABLE\\s+(.*)")
	rePair   = regexp.MustCompile("(?is)^\\s*" + nameRE + "\\s+TO\\s+" + nameRE + "\\s*$")
)

// nameRE captures a table's name, with its database if any. It does not
// match the keyword that follows CREATE TABLE in a statement whose name
// is appended at run time, nor a regular expression's group.
const nameRE = "((?:[`\"]?[A-Za-z_][A-Za-z0-9_]*[`\"]?\\.)?[`\"]?[A-Za-z_][A-Za-z0-9_]*[`\"]?)"

// tableName returns the table a match of reCreate or reDrop names, without
// its database and quotes; "" when the name is a keyword (IF of a
// statement whose name comes at run time).
func tableName(m []string) string {
	return unqualify(m[len(m)-1])
}

func unqualify(name string) string {
	if i := strings.LastIndex(name, "."); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Trim(name, "`\"")
	switch strings.ToUpper(name) {
	case "IF", "AS", "ON":
		return ""
	}
	return name
}

type sqlFile struct{ name, text string }

// tablesOfSchema replays the migrations of schema/ in order and returns
// the tables they leave.
func tablesOfSchema(t *testing.T) []found {
	paths, err := filepath.Glob(filepath.Join(root, "schema", "*.sql"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(paths)
	var files []sqlFile
	for _, p := range paths {
		rel, _ := filepath.Rel(root, p)
		files = append(files, sqlFile{filepath.ToSlash(rel), read(t, filepath.ToSlash(rel))})
	}
	return replay(files)
}

// replay applies the migrations' CREATE, DROP and RENAME TABLE statements
// to a set of tables, in order, and returns what is left, sorted.
func replay(files []sqlFile) []found {
	tables := map[string]string{} // name -> where created
	for _, f := range files {
		for _, stmt := range statements(f.text) {
			switch {
			case reCreate.MatchString(stmt):
				if name := tableName(reCreate.FindStringSubmatch(stmt)); name != "" {
					tables[name] = f.name
				}
			case reDrop.MatchString(stmt):
				delete(tables, tableName(reDrop.FindStringSubmatch(stmt)))
			case reRename.MatchString(stmt):
				for _, pair := range strings.Split(reRename.FindStringSubmatch(stmt)[1], ",") {
					m := rePair.FindStringSubmatch(pair)
					if m == nil {
						continue
					}
					from, to := unqualify(m[1]), unqualify(m[2])
					if where, ok := tables[from]; ok {
						delete(tables, from)
						tables[to] = where
					}
				}
			}
		}
	}
	var out []found
	for name, where := range tables {
		out = append(out, found{name, where})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// statements splits a migration into its statements, without comments.
// A semicolon inside a quoted string does not end a statement.
func statements(text string) []string {
	var out []string
	var b strings.Builder
	var quote rune
	rs := []rune(text)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case quote != 0:
			b.WriteRune(r)
			if r == '\\' && i+1 < len(rs) {
				i++
				b.WriteRune(rs[i])
			} else if r == quote {
				quote = 0
			}
		case r == '\'' || r == '"' || r == '`':
			quote = r
			b.WriteRune(r)
		case r == '-' && i+1 < len(rs) && rs[i+1] == '-':
			for i < len(rs) && rs[i] != '\n' {
				i++
			}
			b.WriteRune('\n')
		case r == ';':
			out = append(out, b.String())
			b.Reset()
		default:
			b.WriteRune(r)
		}
	}
	if strings.TrimSpace(b.String()) != "" {
		out = append(out, b.String())
	}
	return out
}

// tablesInGo returns the tables that string literals of non-test Go files
// create with CREATE TABLE, each once.
func tablesInGo(t *testing.T) []found {
	seen := map[string]bool{}
	var out []found
	for _, file := range goFiles(t) {
		fset, f := parse(t, file)
		ast.Inspect(f, func(n ast.Node) bool {
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			text, err := strconv.Unquote(lit.Value)
			if err != nil {
				t.Fatalf("%s: %v", fset.Position(lit.Pos()), err)
			}
			for _, m := range reCreate.FindAllStringSubmatch(text, -1) {
				if name := tableName(m); name != "" && !seen[name] {
					seen[name] = true
					out = append(out, found{name, position(fset, lit.Pos())})
				}
			}
			return true
		})
	}
	return out
}

// Links.

// A link of a markdown file.
type link struct {
	file string // the markdown file, relative to the repository
	line int
	url  string
}

// local returns the repository path (slash-separated, cleaned; starting
// with "../" when it leads out of the repository) and the anchor a
// relative link leads to; ok is false for a link with a scheme.
func (l link) local() (target, anchor string, ok bool) {
	u := l.url
	if strings.Contains(u, "://") || strings.HasPrefix(u, "mailto:") || strings.HasPrefix(u, "//") {
		return "", "", false
	}
	path, anchor, _ := strings.Cut(u, "#")
	if path == "" {
		return l.file, anchor, true
	}
	path, _, _ = strings.Cut(path, "?")
	if strings.HasPrefix(path, "/") {
		target = strings.TrimPrefix(path, "/")
	} else {
		dir := filepath.ToSlash(filepath.Dir(l.file))
		target = filepath.ToSlash(filepath.Clean(filepath.Join(dir, path)))
	}
	return target, anchor, true
}

var (
	reInline = regexp.MustCompile(`!?\[(?:[^\]\\]|\\.)*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)`)
	reDef    = regexp.MustCompile(`(?m)^ {0,3}\[[^\]\n]+\]:[ \t]*<?(\S+?)>?(?:\s|$)`)
	reCode   = regexp.MustCompile("(?s)``.*?``|`[^`]*`")
	reFence  = regexp.MustCompile("^\\s{0,3}(```|~~~)")
)

// linksOf returns the links of a markdown file: inline links and images,
// and reference definitions, outside code blocks and code spans.
func linksOf(t *testing.T, file string) []link {
	text := strings.Join(proseLines(read(t, file)), "\n")
	// A code span may run over lines: it keeps its line breaks, so that
	// the line numbers stay right.
	text = reCode.ReplaceAllStringFunc(text, func(code string) string {
		return strings.Repeat("\n", strings.Count(code, "\n"))
	})
	lineAt := func(offset int) int { return 1 + strings.Count(text[:offset], "\n") }
	var out []link
	for _, re := range []*regexp.Regexp{reInline, reDef} {
		for _, m := range re.FindAllStringSubmatchIndex(text, -1) {
			out = append(out, link{file, lineAt(m[0]), text[m[2]:m[3]]})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].line < out[j].line })
	return out
}

// proseLines returns the lines of a markdown text, with those of fenced
// code blocks blanked (so that line numbers stay right).
func proseLines(text string) []string {
	lines := strings.Split(text, "\n")
	fence := ""
	for i, l := range lines {
		if m := reFence.FindStringSubmatch(l); m != nil {
			switch {
			case fence == "":
				fence = m[1]
			case m[1] == fence:
				fence = ""
			}
			lines[i] = ""
			continue
		}
		if fence != "" {
			lines[i] = ""
		}
	}
	return lines
}

var (
	reHeading = regexp.MustCompile(`^\s{0,3}#{1,6}\s+(.*?)(?:\s+#+)?\s*$`)
	reLinkTxt = regexp.MustCompile(`!?\[((?:[^\]\\]|\\.)*)\]\([^)]*\)`)
	reHTMLID  = regexp.MustCompile(`<a\s+(?:name|id)="([^"]+)"`)
)

// anchorsOf returns the anchors GitHub gives a markdown text's headings
// (and its explicit <a name> or <a id>).
func anchorsOf(text string) map[string]bool {
	anchors := map[string]bool{}
	count := map[string]int{}
	for _, line := range proseLines(text) {
		for _, m := range reHTMLID.FindAllStringSubmatch(line, -1) {
			anchors[m[1]] = true
		}
		m := reHeading.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		s := slug(m[1])
		a := s
		if n := count[s]; n > 0 {
			a = s + "-" + strconv.Itoa(n)
		}
		count[s]++
		anchors[a] = true
	}
	return anchors
}

// slug is GitHub's anchor of a heading: the heading's text (links and
// code marks removed) lower-cased, without punctuation or symbols but
// for '-' and '_', each space a '-'.
func slug(heading string) string {
	text := reLinkTxt.ReplaceAllString(heading, "$1")
	text = strings.ReplaceAll(text, "`", "")
	var b strings.Builder
	for _, r := range strings.ToLower(text) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.IsMark(r) || unicode.Is(unicode.Pc, r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// Files.

// docPages returns the markdown pages of docs/, as repository paths.
func docPages(t *testing.T) []string {
	paths, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range paths {
		rel, _ := filepath.Rel(root, p)
		out = append(out, filepath.ToSlash(rel))
	}
	sort.Strings(out)
	return out
}

// goFiles returns the non-test Go files of the repository, leaving out
// hidden folders (.git, the demo's and the benchmarks' data), testdata and
// vendor.
func goFiles(t *testing.T) []string {
	var out []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != root && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "testdata" || name == "vendor" || name == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(name, ".go") && !strings.HasSuffix(name, "_test.go") {
			out = append(out, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Fatalf("no Go files under %s", root)
	}
	return out
}

func parse(t *testing.T, path string) (*token.FileSet, *ast.File) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	return fset, f
}

// position is where a node is, relative to the repository.
func position(fset *token.FileSet, pos token.Pos) string {
	p := fset.Position(pos)
	rel, err := filepath.Rel(root, p.Filename)
	if err != nil {
		rel = p.Filename
	}
	return filepath.ToSlash(rel) + ":" + strconv.Itoa(p.Line)
}

// read returns a file of the repository, named by its slash-separated path.
func read(t *testing.T, path string) string {
	b, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(path)))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func names(fs []found) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.name)
	}
	sort.Strings(out)
	return out
}
