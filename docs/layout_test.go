package docs_test

import (
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/dialpad-etl/dialpad-etl/"

// TestArchitectureNamesEveryPackageAndWhatItImports checks the table of
// packages in docs/architecture.md against the code: every package (of
// non-test files) has a row, every row a package, and a package imports
// only the packages of this module its row names.
func TestArchitectureNamesEveryPackageAndWhatItImports(t *testing.T) {
	imports := packageImports(t)
	rows := packageRows(t)
	if len(rows) < 20 {
		t.Fatalf("found %d rows in the table of packages, want one for each of the %d packages", len(rows), len(imports))
	}
	for pkg, uses := range imports {
		allowed, ok := rows[pkg]
		if !ok {
			t.Errorf("docs/architecture.md has no row for package %s", pkg)
			continue
		}
		for _, u := range uses {
			if !allowed[u.name] {
				t.Errorf("%s imports %s (%s), which its row in docs/architecture.md does not allow", pkg, u.name, u.where)
			}
		}
	}
	for pkg := range rows {
		if _, ok := imports[pkg]; !ok {
			t.Errorf("docs/architecture.md has a row for %s, which is not a package", pkg)
		}
	}
}

// TestNoProgramImportsTheTestKit checks that nothing but a test imports a
// package of internal/testkit (or the simulator's simtest), however
// indirectly.
func TestNoProgramImportsTheTestKit(t *testing.T) {
	imports := packageImports(t)
	var reach func(pkg string, seen map[string]bool) []string
	reach = func(pkg string, seen map[string]bool) []string {
		var out []string
		for _, u := range imports[pkg] {
			if !seen[u.name] {
				seen[u.name] = true
				out = append(append(out, u.name), reach(u.name, seen)...)
			}
		}
		return out
	}
	testOnly := func(pkg string) bool {
		return strings.HasPrefix(pkg, "internal/testkit") || strings.HasSuffix(pkg, "/internal/simtest")
	}
	checked := 0
	for pkg := range imports {
		if testOnly(pkg) {
			continue
		}
		checked++
		for _, dep := range reach(pkg, map[string]bool{}) {
			if testOnly(dep) {
				t.Errorf("%s imports the test kit's %s", pkg, dep)
			}
		}
	}
	if checked < 20 {
		t.Errorf("checked %d packages, want every package but the test kit's", checked)
	}
}

// packageImports maps each package of non-test files, by its folder, to
// the packages of this module its files import.
func packageImports(t *testing.T) map[string][]found {
	out := map[string][]found{}
	for _, file := range goFiles(t) {
		rel, err := filepath.Rel(root, file)
		if err != nil {
			t.Fatal(err)
		}
		pkg := path.Dir(filepath.ToSlash(rel))
		fset, f := parse(t, file)
		if _, ok := out[pkg]; !ok {
			out[pkg] = nil
		}
		for _, spec := range f.Imports {
			p, err := strconv.Unquote(spec.Path.Value)
			if err != nil {
				t.Fatal(err)
			}
			if name, ok := strings.CutPrefix(p, module); ok && !containsName(out[pkg], name) {
				out[pkg] = append(out[pkg], found{name, position(fset, spec.Pos())})
			}
		}
	}
	for _, uses := range out {
		sort.Slice(uses, func(i, k int) bool { return uses[i].name < uses[k].name })
	}
	return out
}

func containsName(fs []found, name string) bool {
	for _, f := range fs {
		if f.name == name {
			return true
		}
	}
	return false
}

var (
	packageRow = regexp.MustCompile("^\\| `([a-z0-9/_-]+)` \\| [^|]+ \\| ([^|]+) \\|$")
	backticked = regexp.MustCompile("`([^`]+)`")
)

// packageRows reads the table of the section "Packages" of
// docs/architecture.md: each package and the packages it may import.
func packageRows(t *testing.T) map[string]map[string]bool {
	out := map[string]map[string]bool{}
	in := false
	for _, line := range strings.Split(read(t, "docs/architecture.md"), "\n") {
		if strings.HasPrefix(line, "## ") {
			in = line == "## Packages"
		}
		m := packageRow.FindStringSubmatch(strings.TrimSpace(line))
		if !in {
			m = nil
		}
		if m == nil {
			continue
		}
		allowed := map[string]bool{}
		for _, b := range backticked.FindAllStringSubmatch(m[2], -1) {
			allowed[b[1]] = true
		}
		if _, dup := out[m[1]]; dup {
			t.Errorf("docs/architecture.md has two rows for %s", m[1])
		}
		out[m[1]] = allowed
	}
	return out
}
