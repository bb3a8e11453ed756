package portiere_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// dynamicSQL lists the functions of the module that hand PostgreSQL a
// statement built at run time, each with the reason no user input can
// reach its text. Keys are "path/to/file.go: FuncName". Every other call
// of Query, QueryRow, Exec, Prepare or Queue passes a constant (a literal,
// a const, or constants joined with +): values travel as $n parameters.
var dynamicSQL = map[string]string{
	"devstack/devstack.go: ensureDatabase":              "creates portiere dev's own database; the name is quoted with pgx.Identifier.Sanitize",
	"mappingjob/mappingjobstore/review.go: events":      "a helper whose two callers pass const statements (eventColumns and literals)",
	"platform/migrate/migrate.go: apply":                "runs the migration files embedded in the binary",
	"platform/postgres/dbtest/dbtest.go: create":        "test databases named by the package (test_ and random hex)",
	"platform/postgres/dbtest/dbtest.go: buildTemplate": "the template database named by the package (portiere_tmpl_ and a hash of the migrations)",
	"schemamap/schemamapstore/store.go: item":           "lock is \"\" or \"for update\", literals of its two callers",
	"tenancy/tenancystore/store.go: affected":           "a helper whose callers pass const statements",
	"vocab/vocabstore/replace.go: stage":                "vocabulary import DDL over the package's table specs, quoted with pgx.Identifier.Sanitize",
	"vocab/vocabstore/replace.go: index":                "vocabulary import DDL over the package's index specs and quoted table names",
	"vocab/vocabstore/replace.go: duplicate":            "column names from information_schema, quoted with pgx.Identifier.Sanitize",
	"vocab/vocabstore/replace.go: swap":                 "vocabulary import DDL over the package's table specs, quoted with pgx.Identifier.Sanitize",
	"vocab/vocabstore/replace.go: diff":                 "quoted table names, constant conditions and an integer constant",
}

// sqlMethods are the methods whose argument is SQL text: pgx's pool, conn
// and transaction (ctx first), database/sql's, and pgx.Batch.Queue (SQL
// first).
var sqlMethods = map[string]bool{"Query": true, "QueryRow": true, "Exec": true, "Prepare": true,
	"QueryContext": true, "QueryRowContext": true, "ExecContext": true, "Queue": true}

// TestNoSQLBuiltFromValues parses every non-test Go file of the module and
// fails on a SQL call whose statement is not a constant expression, unless
// dynamicSQL names its function with a reason: no query is built by
// fmt.Sprintf or + from a value, so no request field can become SQL.
func TestNoSQLBuiltFromValues(t *testing.T) {
	fset := token.NewFileSet()
	files := map[string][]*ast.File{} // by directory
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case "testdata", "node_modules", "bin", "lib", "vendor":
				return filepath.SkipDir
			}
			if strings.HasPrefix(d.Name(), ".") && path != "." {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		files[filepath.Dir(path)] = append(files[filepath.Dir(path)], f)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]string{}
	calls := 0
	for _, pkg := range files {
		// Package-level constants of the directory, for identifiers the
		// per-file resolution leaves unresolved.
		consts := map[string]bool{}
		for _, f := range pkg {
			for _, d := range f.Decls {
				if g, ok := d.(*ast.GenDecl); ok && g.Tok == token.CONST {
					for _, s := range g.Specs {
						for _, n := range s.(*ast.ValueSpec).Names {
							consts[n.Name] = true
						}
					}
				}
			}
		}
		for _, f := range pkg {
			for _, d := range f.Decls {
				fn, ok := d.(*ast.FuncDecl)
				if !ok || fn.Body == nil {
					continue
				}
				locals := assignments(fn.Body)
				ast.Inspect(fn.Body, func(n ast.Node) bool {
					call, ok := n.(*ast.CallExpr)
					if !ok {
						return true
					}
					sel, ok := call.Fun.(*ast.SelectorExpr)
					if !ok || !sqlMethods[sel.Sel.Name] || len(call.Args) == 0 {
						return true
					}
					// pgx and database/sql take the context first; Batch.Queue
					// the statement. Other methods of these names (Fiber's
					// c.Query(key), a store's Queue(ctx, …)) are not SQL.
					arg := call.Args[0]
					if sel.Sel.Name == "Queue" {
						if id, isIdent := arg.(*ast.Ident); isIdent && id.Name == "ctx" {
							return true
						}
						if _, isCall := arg.(*ast.CallExpr); isCall {
							return true
						}
					} else if lit, isLit := arg.(*ast.BasicLit); isLit && lit.Kind == token.STRING {
						return true // Fiber's c.Query("key", default)
					} else if len(call.Args) >= 2 {
						arg = call.Args[1]
					} else {
						return true
					}
					if !looksLikeSQL(arg) {
						return true
					}
					calls++
					if !constantExpr(arg, consts, locals, 0) {
						pos := fset.Position(call.Pos())
						found[filepath.ToSlash(pos.Filename)+": "+fn.Name.Name] = pos.String()
					}
					return true
				})
			}
		}
	}
	if calls < 50 {
		t.Fatalf("only %d SQL calls found: the walk missed the stores", calls)
	}
	var names []string
	for k := range found {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if reason, ok := dynamicSQL[k]; !ok || reason == "" {
			t.Errorf("%s builds SQL from a non-constant expression: pass values as $n parameters, or add %q to dynamicSQL with the reason no input reaches the text", found[k], k)
		}
	}
	for k := range dynamicSQL {
		if _, ok := found[k]; !ok {
			t.Errorf("dynamicSQL lists %s, which builds no SQL any more: remove it", k)
		}
	}
	t.Logf("%d SQL calls checked, %d with an allow-listed dynamic statement", calls, len(found))
}

// looksLikeSQL tells a SQL argument from the other calls sharing these
// method names (Fiber's c.Query("name"), a key lookup): a string literal
// must read like a statement; anything else is assumed SQL.
func looksLikeSQL(e ast.Expr) bool {
	lit, ok := e.(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return true
	}
	s := strings.ToLower(strings.TrimSpace(strings.Trim(lit.Value, "`\"")))
	for _, kw := range []string{"select", "insert", "update", "delete", "with", "create", "drop", "alter", "truncate", "lock", "set", "copy", "begin", "commit", "listen", "notify", "vacuum", "analyze", "refresh"} {
		if strings.HasPrefix(s, kw) {
			return true
		}
	}
	return false
}

// assignments collects, for each name assigned in body (=, :=, +=, var),
// every expression assigned to it; a += adds its right-hand side.
func assignments(body *ast.BlockStmt) map[string][]ast.Expr {
	out := map[string][]ast.Expr{}
	ast.Inspect(body, func(n ast.Node) bool {
		switch v := n.(type) {
		case *ast.AssignStmt:
			if len(v.Lhs) != len(v.Rhs) {
				for _, l := range v.Lhs {
					if id, ok := l.(*ast.Ident); ok {
						out[id.Name] = append(out[id.Name], nil) // from a multi-value call: not constant
					}
				}
				return true
			}
			for i, l := range v.Lhs {
				if id, ok := l.(*ast.Ident); ok {
					out[id.Name] = append(out[id.Name], v.Rhs[i])
				}
			}
		case *ast.ValueSpec:
			for i, id := range v.Names {
				if i < len(v.Values) {
					out[id.Name] = append(out[id.Name], v.Values[i])
				}
			}
		}
		return true
	})
	return out
}

// constantExpr reports whether e is a constant string: a literal, a
// constant, constants joined with + (parentheses allowed), or a local
// variable only ever assigned such expressions.
func constantExpr(e ast.Expr, consts map[string]bool, locals map[string][]ast.Expr, depth int) bool {
	if depth > 8 {
		return false
	}
	switch v := e.(type) {
	case *ast.BasicLit:
		return true
	case *ast.ParenExpr:
		return constantExpr(v.X, consts, locals, depth+1)
	case *ast.BinaryExpr:
		return v.Op == token.ADD && constantExpr(v.X, consts, locals, depth+1) && constantExpr(v.Y, consts, locals, depth+1)
	case *ast.Ident:
		if v.Obj != nil && v.Obj.Kind == ast.Con {
			return true
		}
		if rhs, ok := locals[v.Name]; ok && len(rhs) > 0 {
			for _, r := range rhs {
				if r == nil || !constantExpr(r, consts, locals, depth+1) {
					return false
				}
			}
			return true
		}
		return v.Obj == nil && consts[v.Name]
	}
	return false
}
