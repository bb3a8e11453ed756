package migrate_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/portiere/portiere/platform/migrate"
	"github.com/portiere/portiere/platform/postgres"
	"github.com/portiere/portiere/platform/postgres/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

func emptyPool(t *testing.T) *pgxpool.Pool {
	t.Helper()
	pool, err := postgres.Open(context.Background(), dbtest.URL(t, dbtest.NewEmpty(t)), postgres.Options{MaxConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

func tables(t *testing.T, pool *pgxpool.Pool) map[string]bool {
	t.Helper()
	rows, err := pool.Query(context.Background(), `select table_name from information_schema.tables where table_schema = 'public'`)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for rows.Next() {
		var n string
		rows.Scan(&n)
		out[n] = true
	}
	return out
}

func TestUpOnEmptyDatabaseThenNoOp(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := emptyPool(t)

	all, err := migrate.Load(migrate.Schema())
	if err != nil {
		t.Fatal(err)
	}
	res, err := migrate.Up(ctx, pool, migrate.Schema())
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Applied) != len(all) || res.Current != all[len(all)-1].Version {
		t.Fatalf("applied %d of %d, current %d", len(res.Applied), len(all), res.Current)
	}
	got := tables(t, pool)
	for _, want := range []string{"concept", "concept_synonym", "concept_relationship", "concept_ancestor",
		"vocabulary", "domain", "concept_class", "relationship",
		"organizations", "users", "api_keys", "projects", "schema_migrations"} {
		if !got[want] {
			t.Errorf("table %s missing after migrate", want)
		}
	}

	again, err := migrate.Up(ctx, pool, migrate.Schema())
	if err != nil {
		t.Fatal(err)
	}
	if len(again.Applied) != 0 || again.Current != res.Current {
		t.Fatalf("re-run applied %d migrations, current %d", len(again.Applied), again.Current)
	}
	if v, _ := migrate.Version(ctx, pool); v != res.Current {
		t.Fatalf("Version() = %d, want %d", v, res.Current)
	}
}

func TestConcurrentRunsBothSucceed(t *testing.T) {
	t.Parallel()
	pool := emptyPool(t)
	var wg sync.WaitGroup
	results := make([]migrate.Result, 4)
	errs := make([]error, 4)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = migrate.Up(context.Background(), pool, migrate.Schema())
		}()
	}
	wg.Wait()
	total := 0
	for i, err := range errs {
		if err != nil {
			t.Fatalf("runner %d: %v", i, err)
		}
		total += len(results[i].Applied)
	}
	all, _ := migrate.Load(migrate.Schema())
	if total != len(all) {
		t.Fatalf("migrations applied %d times in total, want each exactly once (%d)", total, len(all))
	}
}

func TestFailingMigrationLeavesSchemaUnchanged(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := emptyPool(t)
	fsys := fstest.MapFS{
		"0001_first.sql":  {Data: []byte(`create table first_table (id int);`)},
		"0002_broken.sql": {Data: []byte(`create table half_done (id int); select no_such_function();`)},
	}
	_, err := migrate.Up(ctx, pool, fsys)
	if err == nil {
		t.Fatal("broken migration succeeded")
	}
	got := tables(t, pool)
	if !got["first_table"] || got["half_done"] {
		t.Fatalf("after a failed 0002: tables %v (want first_table only)", got)
	}
	if v, _ := migrate.Version(ctx, pool); v != 1 {
		t.Fatalf("version %d after failed 0002, want 1", v)
	}

	// Fixing the file lets the run finish.
	fsys["0002_broken.sql"] = &fstest.MapFile{Data: []byte(`create table half_done (id int);`)}
	if _, err := migrate.Up(ctx, pool, fsys); err != nil {
		t.Fatal(err)
	}
	// Editing an applied migration is refused.
	fsys["0001_first.sql"] = &fstest.MapFile{Data: []byte(`create table first_table (id bigint);`)}
	_, err = migrate.Up(ctx, pool, fsys)
	var cerr *migrate.ChecksumError
	if !errors.As(err, &cerr) || cerr.Version != 1 {
		t.Fatalf("edited migration: got %v", err)
	}
}

func TestLoadRejectsBadNames(t *testing.T) {
	for name, fsys := range map[string]fstest.MapFS{
		"bad name":  {"1_x.sql": {Data: []byte("")}},
		"duplicate": {"0001_a.sql": {Data: []byte("")}, "0001_b.sql": {Data: []byte("")}},
	} {
		if _, err := migrate.Load(fsys); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
