package portiere_test

import (
	"bufio"
	"bytes"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const module = "github.com/portiere/portiere/"

// imports returns each package of the module with its direct imports
// (test files excluded), from go list.
func imports(t *testing.T) map[string][]string {
	t.Helper()
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	pkgs := map[string][]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		pkgs[strings.TrimPrefix(f[0], module)] = f[1:]
	}
	if len(pkgs) < 20 {
		t.Fatalf("go list found only %d packages", len(pkgs))
	}
	return pkgs
}

func isStore(path string) bool {
	return strings.HasPrefix(path, module) && strings.HasSuffix(path, "store")
}

// The HTTP server and the worker receive interfaces: they never build a
// PostgreSQL store, an Elasticsearch client or read the configuration;
// cmd/portiere (the composition root) does.
func TestServicesReceiveInterfaces(t *testing.T) {
	forbidden := func(imp string) bool {
		return isStore(imp) || imp == module+"search/elastic" || imp == module+"config"
	}
	checked := 0
	for pkg, imps := range imports(t) {
		if pkg != "apiserver" && pkg != "worker" && pkg != "web" && !strings.HasPrefix(pkg, "apiserver/") && !strings.HasPrefix(pkg, "worker/") && !strings.HasPrefix(pkg, "web/") {
			continue
		}
		checked++
		for _, imp := range imps {
			if forbidden(imp) {
				t.Errorf("%s imports %s: it must receive an interface built in cmd/portiere", pkg, imp)
			}
		}
	}
	if checked < 3 {
		t.Fatalf("checked %d packages; apiserver, worker and web not found", checked)
	}
}

// The import direction of docs/architecture.md: cmd → apiserver, worker →
// workflows → activities → domain packages → platform. Nothing imports
// cmd, apiserver or worker; domain packages and platform import none of
// the layers above them.
func TestImportDirection(t *testing.T) {
	top := []string{"apiserver", "web", "worker", "workflows", "activities", "devstack"}
	layer := func(p string) string {
		for _, l := range top {
			if p == l || strings.HasPrefix(p, l+"/") {
				return l
			}
		}
		return ""
	}
	above := map[string][]string{
		"":           {"apiserver", "web", "worker", "workflows", "activities", "devstack"}, // domain and platform packages
		"activities": {"apiserver", "web", "worker", "workflows", "devstack"},
		"workflows":  {"apiserver", "web", "worker", "devstack"},
		"apiserver":  {"web", "worker", "devstack"},
		"web":        {"apiserver", "worker", "devstack"},
		"worker":     {"apiserver", "web", "devstack"},
		"devstack":   {"apiserver", "web", "worker"},
	}
	for pkg, imps := range imports(t) {
		if strings.HasPrefix(pkg, "cmd/") || strings.HasPrefix(pkg, "internal/") {
			continue
		}
		for _, imp := range imps {
			if !strings.HasPrefix(imp, module) {
				continue
			}
			dep := strings.TrimPrefix(imp, module)
			if strings.HasPrefix(dep, "cmd/") {
				t.Errorf("%s imports %s", pkg, dep)
			}
			for _, bad := range above[layer(pkg)] {
				if dep == bad || strings.HasPrefix(dep, bad+"/") {
					if layer(pkg) == layer(dep) {
						continue
					}
					t.Errorf("%s imports %s, against the import direction", pkg, dep)
				}
			}
		}
	}
}

// Only package config reads the environment (tests, internal/ tools and
// the test-database and test-node helpers aside).
func TestOnlyConfigReadsTheEnvironment(t *testing.T) {
	allowed := func(path string) bool {
		return strings.HasSuffix(path, "_test.go") ||
			strings.HasPrefix(path, "config/") ||
			strings.HasPrefix(path, "internal/") ||
			// dbtest is test support: it finds the database make test started.
			strings.HasPrefix(path, "platform/postgres/dbtest/") ||
			// estest likewise finds the Elasticsearch node make test started.
			strings.HasPrefix(path, "platform/esnode/estest/") ||
			// stripetest and redistest likewise (stripe-mock, redis-server).
			strings.HasPrefix(path, "platform/stripemock/stripetest/") ||
			strings.HasPrefix(path, "platform/redistest/")
	}
	fset := token.NewFileSet()
	files := 0
	err := filepath.WalkDir(".", func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") && path != "." || d.Name() == "testdata" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || allowed(filepath.ToSlash(path)) {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		files++
		ast.Inspect(f, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			if id, ok := sel.X.(*ast.Ident); ok && id.Name == "os" && (sel.Sel.Name == "Getenv" || sel.Sel.Name == "LookupEnv") {
				t.Errorf("%s: os.%s outside package config", fset.Position(sel.Pos()), sel.Sel.Name)
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 50 {
		t.Fatalf("only %d files inspected", files)
	}
}

// One package writes the search index: only searchindex (over search and
// search/faiss, which it drives) builds or saves a dense index; everyone
// else goes through its pipeline or opens what it saved.
func TestOnlySearchindexWritesTheIndex(t *testing.T) {
	owners := map[string]bool{"search": true, "search/faiss": true, "searchindex": true}
	writers := []string{"BuildDenseIndex"}
	for pkg, imps := range imports(t) {
		if owners[pkg] {
			continue
		}
		for _, imp := range imps {
			if imp == module+"search/faiss" {
				t.Errorf("%s imports search/faiss: only searchindex handles index files", pkg)
			}
		}
	}
	fset := token.NewFileSet()
	err := filepath.WalkDir(".", func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		p := filepath.ToSlash(path)
		if d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") ||
			strings.HasPrefix(p, "search/") || strings.HasPrefix(p, "searchindex/") || strings.HasPrefix(p, ".") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if sel, ok := n.(*ast.SelectorExpr); ok {
				for _, w := range writers {
					if sel.Sel.Name == w {
						t.Errorf("%s: %s outside searchindex", fset.Position(sel.Pos()), w)
					}
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
