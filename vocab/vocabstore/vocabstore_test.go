package vocabstore_test

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/portiere/portiere/platform/postgres/dbtest"
	"github.com/portiere/portiere/vocab"
	"github.com/portiere/portiere/vocab/athena"
	"github.com/portiere/portiere/vocab/vocabstore"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

const demoDir = "../../testdata/demo-vocab"

func newImporter(t testing.TB) (*vocab.Importer, *vocabstore.Store, *pgxpool.Pool) {
	t.Helper()
	pool := dbtest.New(t)
	store := vocabstore.New(pool)
	return vocab.NewImporter(store), store, pool
}

func mustImport(t testing.TB, im *vocab.Importer, dir string) vocab.Report {
	t.Helper()
	rep, err := im.Import(context.Background(), dir, nil)
	if err != nil {
		t.Fatalf("import %s: %v", dir, err)
	}
	return rep
}

// dataLines counts a file's lines minus the header.
func dataLines(t testing.TB, path string) int64 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var n int64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		n++
	}
	return n - 1
}

func tableCounts(t testing.TB, pool *pgxpool.Pool) map[athena.Table]int64 {
	t.Helper()
	out := map[athena.Table]int64{}
	for _, tb := range athena.Tables() {
		var n int64
		if err := pool.QueryRow(context.Background(), "select count(*) from "+string(tb)).Scan(&n); err != nil {
			t.Fatal(err)
		}
		out[tb] = n
	}
	return out
}

// copyDir copies the release in src to a fresh temporary folder.
func copyDir(t testing.TB, src string) string {
	t.Helper()
	dst := t.TempDir()
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// editLines rewrites a file line by line; edit returns the replacement
// lines for line i (1-based), nil to drop it.
func editLines(t testing.TB, path string, edit func(i int, line string) []string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	var out []string
	for i, l := range lines {
		out = append(out, edit(i+1, l)...)
	}
	if err := os.WriteFile(path, []byte(strings.Join(out, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestImportDemoThenReimportIsNoOp(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	im, store, pool := newImporter(t)
	if has, err := store.HasConcepts(ctx); err != nil || has {
		t.Fatalf("fresh database has concepts: %v %v", has, err)
	}
	if _, err := store.LastImport(ctx); !errors.Is(err, vocab.ErrNotFound) {
		t.Fatalf("LastImport on a fresh database: %v", err)
	}

	var updates []vocab.Update
	rep, err := im.Import(ctx, demoDir, vocab.ProgressFunc(func(u vocab.Update) { updates = append(updates, u) }))
	if err != nil {
		t.Fatal(err)
	}
	live := tableCounts(t, pool)
	for _, tc := range rep.Tables {
		want := dataLines(t, filepath.Join(demoDir, tc.Table.FileName()))
		if tc.Rows != want || live[tc.Table] != want || tc.File != tc.Table.FileName() {
			t.Errorf("%s: report %d rows, table %d, file %d data lines (file %q)", tc.Table, tc.Rows, live[tc.Table], want, tc.File)
		}
		if tc.Previous != -1 {
			t.Errorf("%s: previous %d on a first import", tc.Table, tc.Previous)
		}
	}
	if len(rep.Tables) != 8 {
		t.Fatalf("%d tables in report", len(rep.Tables))
	}
	d := rep.Diff
	if !d.FirstImport || d.Added != live[athena.TableConcept] || d.Removed != 0 || d.Changed != 0 || d.TargetsInvalidated != 0 {
		t.Fatalf("first import diff %+v", d)
	}
	if rep.Source.Fingerprint == "" || rep.PreviousFingerprint != "" || rep.ImportID == 0 || rep.FinishedAt.Before(rep.StartedAt) {
		t.Fatalf("report %+v", rep)
	}

	// Progress: every file ends with a Done copy update carrying its rows.
	copied := map[string]int64{}
	stages := map[vocab.Stage]bool{}
	for _, u := range updates {
		if u.Stage == vocab.StageCopy && u.Done {
			copied[u.Table] = u.Rows
		}
		if u.Done {
			stages[u.Stage] = true
		}
	}
	for _, tc := range rep.Tables {
		if copied[string(tc.Table)] != tc.Rows {
			t.Errorf("progress for %s: %d rows, want %d", tc.Table, copied[string(tc.Table)], tc.Rows)
		}
	}
	for _, s := range []vocab.Stage{vocab.StageFingerprint, vocab.StageCopy, vocab.StageIndex, vocab.StageDiff, vocab.StageSwap} {
		if !stages[s] {
			t.Errorf("no Done update for stage %s", s)
		}
	}

	// The swapped-in tables carry the schema's index and key names, and
	// no scratch schema is left behind.
	var idx []string
	rows, _ := pool.Query(ctx, `select indexname from pg_indexes where schemaname = 'public' and tablename = 'concept' order by 1`)
	for rows.Next() {
		var n string
		rows.Scan(&n)
		idx = append(idx, n)
	}
	if got := strings.Join(idx, ","); got != "concept_class_idx,concept_code_idx,concept_domain_idx,concept_pkey,concept_vocabulary_idx" {
		t.Errorf("concept indexes after swap: %s", got)
	}
	var leftover int
	pool.QueryRow(ctx, `select count(*) from pg_namespace where nspname in ('vocab_staging', 'vocab_old')`).Scan(&leftover)
	if leftover != 0 {
		t.Errorf("%d scratch schemas left", leftover)
	}
	var status string
	var counted int64
	pool.QueryRow(ctx, `select status, (row_counts->>'concept')::bigint from vocabulary_imports where id = $1`, rep.ImportID).Scan(&status, &counted)
	if status != "succeeded" || counted != live[athena.TableConcept] {
		t.Errorf("import record: %s, %d concepts", status, counted)
	}
	if has, _ := store.HasConcepts(ctx); !has {
		t.Error("HasConcepts false after import")
	}

	again := mustImport(t, im, demoDir)
	if !again.Diff.Empty() || again.Diff.FirstImport || again.Diff.TargetsInvalidated != 0 || !again.SameRelease() {
		t.Fatalf("re-import of the same release: %+v", again)
	}
	for _, tc := range again.Tables {
		if tc.Previous != tc.Rows {
			t.Errorf("%s: previous %d, rows %d", tc.Table, tc.Previous, tc.Rows)
		}
	}
	last, err := store.LastImport(ctx)
	if err != nil || last.ImportID != again.ImportID || last.Source != again.Source || len(last.Tables) != 8 || !last.SameRelease() {
		t.Fatalf("LastImport %+v, %v", last, err)
	}
}

// Bad input anywhere in a release fails the import with the file and line,
// and the live tables keep the previous release.
func TestBrokenReleaseChangesNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	im, store, pool := newImporter(t)
	first := mustImport(t, im, demoDir)
	before := tableCounts(t, pool)
	conceptLines := int(dataLines(t, filepath.Join(demoDir, "CONCEPT.csv"))) + 1
	relLines := int(dataLines(t, filepath.Join(demoDir, "CONCEPT_RELATIONSHIP.csv"))) + 1

	for _, tc := range []struct {
		name   string
		file   string
		edit   func(i int, line string) []string
		line   int
		column string
		msg    string
	}{
		{"missing column", "CONCEPT_SYNONYM.csv", func(i int, l string) []string {
			if i == 1 {
				return []string{"concept_id\tconcept_synonym_name\tlanguage"}
			}
			return []string{l}
		}, 1, "", "missing required column language_concept_id"},
		{"non-numeric id", "CONCEPT_SYNONYM.csv", func(i int, l string) []string {
			if i == 100 {
				return []string{"12x" + l[strings.IndexByte(l, '\t'):]}
			}
			return []string{l}
		}, 100, "concept_id", `"12x" is not an integer`},
		{"bad date late in the last big file", "CONCEPT_RELATIONSHIP.csv", func(i int, l string) []string {
			if i == relLines {
				f := strings.Split(l, "\t")
				f[4] = "20991331"
				return []string{strings.Join(f, "\t")}
			}
			return []string{l}
		}, relLines, "valid_end_date", `"20991331" is not a date`},
		{"wrong column count", "CONCEPT.csv", func(i int, l string) []string {
			if i == 10 {
				return []string{l + "\textra"}
			}
			return []string{l}
		}, 10, "", "wrong column count: 11 tab-separated fields, the header has 10"},
		{"duplicate concept_id", "CONCEPT.csv", func(i int, l string) []string {
			if i == 2 {
				return []string{l}
			}
			if i == conceptLines {
				// Same id as line 2, otherwise a different concept.
				id := strings.SplitN(strings.Split(string(mustRead(t, filepath.Join(demoDir, "CONCEPT.csv"))), "\n")[1], "\t", 2)[0]
				return []string{l, id + "\tA duplicate\tCondition\tSNOMED\tClinical Finding\tS\tX1\t19700101\t20991231\t"}
			}
			return []string{l}
		}, conceptLines + 1, "concept_id", "duplicate concept_id"},
		{"duplicate relationship", "CONCEPT_RELATIONSHIP.csv", func(i int, l string) []string {
			if i == 5 {
				return []string{l, l}
			}
			return []string{l}
		}, 6, "concept_id_1, concept_id_2, relationship_id", "first on line 5"},
		{"name too long", "CONCEPT.csv", func(i int, l string) []string {
			if i == 20 {
				f := strings.Split(l, "\t")
				f[1] = strings.Repeat("é", 256)
				return []string{strings.Join(f, "\t")}
			}
			return []string{l}
		}, 20, "concept_name", "256 characters, the database column holds at most 255"},
		{"empty name", "CONCEPT.csv", func(i int, l string) []string {
			if i == 3 {
				f := strings.Split(l, "\t")
				f[1] = ""
				return []string{strings.Join(f, "\t")}
			}
			return []string{l}
		}, 3, "concept_name", "is empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := copyDir(t, demoDir)
			editLines(t, filepath.Join(dir, tc.file), tc.edit)
			_, err := im.Import(ctx, dir, nil)
			var pe *athena.ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("got %v, want *athena.ParseError", err)
			}
			if pe.File != tc.file || pe.Line != tc.line || pe.Column != tc.column || !strings.Contains(pe.Msg, tc.msg) {
				t.Fatalf("got %v\nwant %s line %d column %q, message containing %q", err, tc.file, tc.line, tc.column, tc.msg)
			}
			if !strings.Contains(err.Error(), fmt.Sprintf("%s line %d", tc.file, tc.line)) {
				t.Fatalf("message %q does not name the file and line", err)
			}
			if after := tableCounts(t, pool); fmt.Sprint(after) != fmt.Sprint(before) {
				t.Fatalf("live tables changed: %v, were %v", after, before)
			}
			if last, err := store.LastImport(ctx); err != nil || last.ImportID != first.ImportID {
				t.Fatalf("last import %d (%v), want %d", last.ImportID, err, first.ImportID)
			}
			var status, msg string
			pool.QueryRow(ctx, `select status, error from vocabulary_imports order by id desc limit 1`).Scan(&status, &msg)
			if status != "failed" || !strings.Contains(msg, tc.file) {
				t.Fatalf("failed import recorded as %s: %q", status, msg)
			}
		})
	}
	var leftover int
	pool.QueryRow(ctx, `select count(*) from pg_namespace where nspname in ('vocab_staging', 'vocab_old')`).Scan(&leftover)
	if leftover != 0 {
		t.Errorf("%d scratch schemas left", leftover)
	}
}

func mustRead(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestEmptyReleaseRefused(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	im, _, pool := newImporter(t)
	mustImport(t, im, demoDir)
	before := tableCounts(t, pool)
	dir := copyDir(t, demoDir)
	editLines(t, filepath.Join(dir, "CONCEPT.csv"), func(i int, l string) []string {
		if i == 1 {
			return []string{l}
		}
		return nil
	})
	if _, err := im.Import(ctx, dir, nil); !errors.Is(err, vocab.ErrEmptyRelease) {
		t.Fatalf("got %v", err)
	}
	if after := tableCounts(t, pool); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatalf("live tables changed: %v, were %v", after, before)
	}
}

// demoConcepts reads the demo CONCEPT.csv.
func demoConcepts(t testing.TB) []athena.Concept {
	t.Helper()
	rel, err := athena.Open(demoDir)
	if err != nil {
		t.Fatal(err)
	}
	var out []athena.Concept
	if err := rel.Concepts(func(c athena.Concept) error { out = append(out, c); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

// A modified release is reported exactly: removed, added, renamed,
// invalidated and de-standardised concepts.
func TestReimportDiff(t *testing.T) {
	t.Parallel()
	im, _, pool := newImporter(t)
	first := mustImport(t, im, demoDir)

	var std, nonStd []athena.Concept // valid standard concepts, and the others
	for _, c := range demoConcepts(t) {
		if c.StandardConcept == "S" && c.InvalidReason == "" {
			std = append(std, c)
		} else {
			nonStd = append(nonStd, c)
		}
	}
	if len(std) < 10 || len(nonStd) < 10 {
		t.Fatalf("demo has %d standard and %d other concepts", len(std), len(nonStd))
	}
	removedStd := []int32{std[0].ID, std[1].ID} // two targets lost
	removedOther := nonStd[0].ID                // an ICD10CM code, never a target
	renamed := std[2].ID                        // still a target
	invalidated := std[3].ID                    // target → invalid_reason D
	destandard := std[4].ID                     // target → non-standard
	domainMoved := nonStd[1].ID                 // domain change on a non-target
	nameAndClass := std[5].ID                   // two changes on one concept
	remove := map[int32]bool{removedStd[0]: true, removedStd[1]: true, removedOther: true}

	dir := copyDir(t, demoDir)
	editLines(t, filepath.Join(dir, "CONCEPT.csv"), func(i int, l string) []string {
		if i == 1 {
			return []string{l,
				"2140000001\tA brand-new concept\tCondition\tSNOMED\tClinical Finding\tS\tNEW1\t20250101\t20991231\t",
				"2140000002\tAnother new one\tObservation\tLOINC\tClinical Observation\t\tNEW2\t20250101\t20991231\t"}
		}
		f := strings.Split(l, "\t")
		id64, _ := strconv.ParseInt(f[0], 10, 32)
		id := int32(id64)
		switch {
		case remove[id]:
			return nil
		case id == renamed:
			f[1] += " (renamed)"
		case id == invalidated:
			f[8], f[9] = "20250101", "D"
		case id == destandard:
			f[5] = ""
		case id == domainMoved:
			f[2] = "Observation"
		case id == nameAndClass:
			f[1], f[4] = f[1]+" (v2)", "Other class"
		}
		return []string{strings.Join(f, "\t")}
	})

	// Existing mappings: two items point at the concept this release
	// invalidates, one at a concept that stays a valid target.
	const mappings = `
with org as (insert into organizations (name, slug) values ('t', 'tt') returning id),
     p as (insert into projects (organization_id, name) select id, 'p' from org returning id)
insert into concept_mapping_items (project_id, source, source_code, concept_id, method)
select p.id, 's', v.code, v.concept, 'review' from p,
       (values ('A', $1::int), ('B', $1::int), ('C', $2::int)) as v(code, concept)`
	if _, err := pool.Exec(context.Background(), mappings, invalidated, renamed); err != nil {
		t.Fatal(err)
	}

	rep := mustImport(t, im, dir)
	d := rep.Diff
	want := vocab.Diff{
		Added: 2, Removed: 3, Changed: 5,
		Changes:                  vocab.ChangeCounts{Name: 2, Domain: 1, Class: 1, Standard: 1, Validity: 1},
		TargetsInvalidated:       4,
		MappedTargetsInvalidated: 1,
		MappingsAffected:         2,
	}
	if len(d.InvalidatedTargets) == 0 || d.InvalidatedTargets[0].ConceptID != invalidated || d.InvalidatedTargets[0].MappedItems != 2 {
		t.Fatalf("the mapped target should be listed first with its 2 items: %+v", d.InvalidatedTargets)
	}
	got := d
	got.InvalidatedTargets = nil
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("diff\n got  %+v\n want %+v", got, want)
	}
	reasons := map[int32]vocab.TargetChange{}
	for _, x := range d.InvalidatedTargets {
		reasons[x.ConceptID] = x.Reason
	}
	wantReasons := map[int32]vocab.TargetChange{
		removedStd[0]: vocab.TargetRemoved, removedStd[1]: vocab.TargetRemoved,
		invalidated: vocab.TargetInvalid, destandard: vocab.TargetNonStandard,
	}
	if fmt.Sprint(reasons) != fmt.Sprint(wantReasons) {
		t.Fatalf("invalidated targets %v, want %v", reasons, wantReasons)
	}
	for i := 1; i < len(d.InvalidatedTargets); i++ {
		a, b := d.InvalidatedTargets[i-1], d.InvalidatedTargets[i]
		if a.MappedItems < b.MappedItems || a.MappedItems == b.MappedItems && a.ConceptID >= b.ConceptID {
			t.Fatalf("targets not ordered by mapped items, then id: %v", d.InvalidatedTargets)
		}
	}
	if rep.PreviousFingerprint != first.Source.Fingerprint || rep.SameRelease() {
		t.Fatalf("previous fingerprint %q, first import %q", rep.PreviousFingerprint, first.Source.Fingerprint)
	}

	// Going back to the demo reverses the counts; the one standard concept
	// the modified release added is now a lost target.
	back := mustImport(t, im, demoDir).Diff
	if back.Added != 3 || back.Removed != 2 || back.Changed != 5 || back.TargetsInvalidated != 1 ||
		back.InvalidatedTargets[0] != (vocab.InvalidatedTarget{ConceptID: 2140000001, Reason: vocab.TargetRemoved}) {
		t.Fatalf("diff back to the demo: %+v", back)
	}
}

// A BOM, CRLF line ends and literal quotes load as written.
func TestImportTolerance(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	im, _, pool := newImporter(t)
	dir := t.TempDir()
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("concept.csv", "\uFEFFconcept_id\tconcept_name\tdomain_id\tvocabulary_id\tconcept_class_id\tstandard_concept\tconcept_code\tvalid_start_date\tvalid_end_date\tinvalid_reason\r\n"+
		"1\t5\" laceration of \"left\" arm\tCondition\tSNOMED\tClinical Finding\tS\tC1\t19700101\t20991231\t\r\n"+
		"2\tPlain\tCondition\tSNOMED\tClinical Finding\t\tC2\t19700101\t20991231\tU\r\n")
	write("Concept_Synonym.csv", "\uFEFFconcept_id\tconcept_synonym_name\tlanguage_concept_id\r\n1\t\"quoted\"\t4180186\r\n")
	mustImport(t, im, dir)
	var name, syn string
	var std, invalid *string
	pool.QueryRow(ctx, `select concept_name, standard_concept from concept where concept_id = 1`).Scan(&name, &std)
	pool.QueryRow(ctx, `select invalid_reason from concept where concept_id = 2`).Scan(&invalid)
	pool.QueryRow(ctx, `select concept_synonym_name from concept_synonym where concept_id = 1`).Scan(&syn)
	if name != `5" laceration of "left" arm` || syn != `"quoted"` || std == nil || *std != "S" || invalid == nil || *invalid != "U" {
		t.Fatalf("name %q synonym %q standard %v invalid %v", name, syn, std, invalid)
	}
	var nulls int
	pool.QueryRow(ctx, `select count(*) from concept where concept_id = 2 and standard_concept is null`).Scan(&nulls)
	if nulls != 1 {
		t.Fatal("empty standard_concept not stored as NULL")
	}
}

// The demo converted to the CDM-export flavour (comma-separated, quoted,
// ISO dates, columns reordered) imports to the very same vocabulary.
func TestImportCDMFlavour(t *testing.T) {
	t.Parallel()
	im, _, _ := newImporter(t)
	athenaRep := mustImport(t, im, demoDir)

	dir := t.TempDir()
	entries, err := os.ReadDir(demoDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".csv") {
			continue
		}
		toCSV(t, filepath.Join(demoDir, e.Name()), filepath.Join(dir, strings.ToLower(e.Name())))
	}
	rep := mustImport(t, im, dir)
	if !rep.Diff.Empty() || rep.SameRelease() || rep.Source.Fingerprint == athenaRep.Source.Fingerprint {
		t.Fatalf("CDM flavour of the demo: %+v", rep)
	}
	for i, tc := range rep.Tables {
		if tc.Rows != athenaRep.Tables[i].Rows {
			t.Errorf("%s: %d rows, Athena flavour %d", tc.Table, tc.Rows, athenaRep.Tables[i].Rows)
		}
	}
}

// toCSV rewrites an Athena file as a CDM export: CSV with every field
// quoted, ISO dates, and the columns in reverse order.
func toCSV(t testing.TB, src, dst string) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(string(mustRead(t, src)), "\n"), "\n")
	var b strings.Builder
	w := csv.NewWriter(&b)
	w.UseCRLF = true
	var dateCols []bool
	for i, l := range lines {
		f := strings.Split(l, "\t")
		if i == 0 {
			dateCols = make([]bool, len(f))
			for j, h := range f {
				dateCols[j] = strings.HasSuffix(h, "_date")
			}
		}
		out := make([]string, len(f))
		for j := range f {
			v := f[len(f)-1-j]
			if i > 0 && dateCols[len(f)-1-j] {
				v = v[:4] + "-" + v[4:6] + "-" + v[6:]
			}
			out[j] = v
		}
		w.Write(out)
	}
	w.Flush()
	if err := os.WriteFile(dst, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// Imports run one at a time: a second one while the first holds the lock
// is refused, not queued behind it.
func TestConcurrentImportRefused(t *testing.T) {
	t.Parallel()
	im, _, pool := newImporter(t)
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = im.Import(context.Background(), demoDir, nil)
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, vocab.ErrImportRunning):
			t.Fatalf("unexpected error %v", err)
		}
	}
	if ok == 0 {
		t.Fatal("no import succeeded")
	}
	if n := tableCounts(t, pool)[athena.TableConcept]; n != dataLines(t, filepath.Join(demoDir, "CONCEPT.csv")) {
		t.Fatalf("%d concepts after concurrent imports", n)
	}
}

const athenaDev = "../../../shared/data/athena-dev"

// BenchmarkImportAthenaDev imports the 125k-concept development vocabulary
// (about 200k rows in all), index builds, diff and swap included.
func BenchmarkImportAthenaDev(b *testing.B) {
	if _, err := os.Stat(athenaDev); err != nil {
		b.Skipf("%s not present", athenaDev)
	}
	im, _, _ := newImporter(b)
	var rows int64
	for b.Loop() {
		rep, err := im.Import(context.Background(), athenaDev, nil)
		if err != nil {
			b.Fatal(err)
		}
		for _, tc := range rep.Tables {
			rows += tc.Rows
		}
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
}
