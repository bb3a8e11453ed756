package vocabstore_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/portiere/portiere/search"
	"github.com/portiere/portiere/vocab"
	"github.com/portiere/portiere/vocab/athena"
)

// The corpus read back from PostgreSQL is the one read from the files.
func TestLoadCorpusEqualsRelease(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	im, store, _ := newImporter(t)
	mustImport(t, im, demoDir)

	got, err := store.LoadCorpus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rel, err := athena.Open(demoDir)
	if err != nil {
		t.Fatal(err)
	}
	want, err := rel.LoadCorpus()
	if err != nil {
		t.Fatal(err)
	}
	if got.Fingerprint != want.Fingerprint || len(got.Concepts) != len(want.Concepts) {
		t.Fatalf("from PostgreSQL: %d concepts, fingerprint %s; from the files: %d, %s",
			len(got.Concepts), got.Fingerprint, len(want.Concepts), want.Fingerprint)
	}
	// RxNorm's drug structure comes back too ("RxNorm has ing").
	for _, c := range []*search.Corpus{got, want} {
		if ings := c.Ingredients(21132307); len(ings) != 1 || ings[0].ID != 1776684 {
			t.Fatalf("ingredients of Ceftazidime Ophthalmic Solution: %v, want ceftazidime", ings)
		}
	}
	if n := dataLines(t, filepath.Join(demoDir, "CONCEPT.csv")); int64(len(got.Concepts)) != n {
		t.Fatalf("%d concepts, CONCEPT.csv has %d", len(got.Concepts), n)
	}
	if !reflect.DeepEqual(got.Concepts, want.Concepts) {
		t.Fatal("same fingerprint but different concepts")
	}
	var maps int
	for _, c := range want.Concepts {
		maps += len(want.MapsTo(c.ID))
	}
	if maps == 0 {
		t.Fatal("the demo corpus has no Maps to links: the comparison proves little")
	}
}

func TestConceptNotFound(t *testing.T) {
	t.Parallel()
	im, store, _ := newImporter(t)
	if _, err := store.Concept(context.Background(), 8567); !errors.Is(err, vocab.ErrNotFound) {
		t.Fatalf("empty vocabulary: %v", err)
	}
	mustImport(t, im, demoDir)
	if _, err := store.Concept(context.Background(), 123456789); !errors.Is(err, vocab.ErrNotFound) {
		t.Fatalf("unknown concept: %v", err)
	}
}

func day(s string) time.Time {
	t, err := time.Parse("20060102", s)
	if err != nil {
		panic(err)
	}
	return t
}

// relString is a compact form of a relation for comparisons.
func relString(r vocab.Relation) string {
	s := fmt.Sprintf("%s %s %d", r.Direction, r.RelationshipID, r.Other.ID)
	if r.Reversed {
		s += " reversed"
	}
	if r.InvalidReason != "" {
		s += " invalid:" + r.InvalidReason
	}
	if !r.OtherKnown {
		s += " unknown"
	}
	return s
}

func relStrings(rs []vocab.Relation) []string {
	var out []string
	for _, r := range rs {
		out = append(out, relString(r))
	}
	return out
}

func TestConceptDetailDemo(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	im, store, _ := newImporter(t)
	mustImport(t, im, demoDir)

	// UCUM "activity": upgraded, replaced by and mapped to "percent
	// activity". The demo's relationship table has no reverse ids, so the
	// incoming rows keep their own relationship_id.
	d, err := store.Concept(ctx, 8567)
	if err != nil {
		t.Fatal(err)
	}
	want := vocab.Concept{
		ID: 8567, Name: "activity", DomainID: "Unit", VocabularyID: "UCUM", ClassID: "Unit", Code: "{activity}",
		ValidStart: day("19700101"), ValidEnd: day("20140103"), InvalidReason: "U",
	}
	if !d.ValidStart.Equal(want.ValidStart) || !d.ValidEnd.Equal(want.ValidEnd) {
		t.Errorf("validity %v – %v", d.ValidStart, d.ValidEnd)
	}
	d.Concept.ValidStart, d.Concept.ValidEnd = want.ValidStart, want.ValidEnd // location aside
	if d.Concept != want {
		t.Errorf("concept %+v\nwant    %+v", d.Concept, want)
	}
	if len(d.Synonyms) != 0 {
		t.Errorf("synonyms %v", d.Synonyms)
	}
	wantRels := []string{
		"outgoing Concept replaced by 8687",
		"outgoing Maps to 8687",
		"incoming Concept replaces 8687",
		"incoming Mapped from 8687",
	}
	if got := relStrings(d.Relationships); !reflect.DeepEqual(got, wantRels) {
		t.Errorf("relationships\n%q\nwant\n%q", got, wantRels)
	}
	if d.RelationshipsTotal != 4 || d.RelationshipsTruncated() {
		t.Errorf("total %d, truncated %v", d.RelationshipsTotal, d.RelationshipsTruncated())
	}
	m := d.Relationships[1]
	if m.Other.Name != "percent activity" || m.Other.VocabularyID != "UCUM" || m.Other.StandardConcept != "S" ||
		m.Other.DomainID != "Unit" || m.Other.ClassID != "Unit" || m.Other.InvalidReason != "" ||
		!m.ValidStart.Equal(day("19700101")) || !m.ValidEnd.Equal(day("20991231")) {
		t.Errorf("Maps to %+v", m)
	}

	// An ICD10CM code with 21 synonyms and no relationships.
	d, err = store.Concept(ctx, 2100013681)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Synonyms) != 21 || len(d.Relationships) != 0 || d.RelationshipsTotal != 0 || d.StandardConcept != "" {
		t.Fatalf("%+v", d)
	}
	names := make([]string, len(d.Synonyms))
	for i, s := range d.Synonyms {
		names[i] = s.Name
		if s.LanguageConceptID != 4180186 {
			t.Errorf("synonym %+v", s)
		}
	}
	if !slices.IsSorted(names) || !slices.Contains(names, "Incarcerated midline hernia without gangrene") {
		t.Errorf("synonyms %q", names)
	}
}

// With reverse ids in the relationship table, incoming rows read from the
// concept's side, and drop out when the release lists their reverse too;
// past vocab.MaxRelationships the list is cut.
func TestConceptRelationshipsReversedAndCapped(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := copyDir(t, demoDir)
	reverse := map[string]string{
		"Maps to": "Mapped from", "Mapped from": "Maps to",
		"Concept replaced by": "Concept replaces", "Concept replaces": "Concept replaced by",
		"Is a": "Subsumes", "Subsumes": "Is a",
	}
	editLines(t, filepath.Join(dir, "RELATIONSHIP.csv"), func(i int, line string) []string {
		f := strings.Split(line, "\t")
		if r, ok := reverse[f[0]]; ok && i > 1 {
			f[4] = r
		}
		return []string{strings.Join(f, "\t")}
	})
	// 600 concepts that are "Is a" 8687 (not listed in the reverse
	// direction); for pH (8482) an invalid row and one from a concept the
	// release lacks.
	var extra []string
	for _, c := range demoConcepts(t) {
		if c.ID == 8687 || c.ID == 8567 || c.ID == 8482 {
			continue
		}
		extra = append(extra, fmt.Sprintf("%d\t8687\tIs a\t20200101\t20991231\t", c.ID))
		if len(extra) == 600 {
			break
		}
	}
	extra = append(extra, "8479\t8482\tIs a\t20200101\t20991231\tD", "2000000000\t8482\tIs a\t20200101\t20991231\t")
	editLines(t, filepath.Join(dir, "CONCEPT_RELATIONSHIP.csv"), func(i int, line string) []string {
		if i == 1 {
			return append([]string{line}, extra...)
		}
		return []string{line}
	})

	im, store, _ := newImporter(t)
	mustImport(t, im, dir)

	d, err := store.Concept(ctx, 8567)
	if err != nil {
		t.Fatal(err)
	}
	// 8687 lists "Mapped from" and "Concept replaces" 8567: the incoming
	// side of those rows is the same fact as the outgoing rows of 8567.
	want := []string{"outgoing Concept replaced by 8687", "outgoing Maps to 8687"}
	if got := relStrings(d.Relationships); !reflect.DeepEqual(got, want) || d.RelationshipsTotal != 2 {
		t.Fatalf("8567: %q (total %d), want %q", got, d.RelationshipsTotal, want)
	}

	d, err = store.Concept(ctx, 8687)
	if err != nil {
		t.Fatal(err)
	}
	// Outgoing: Concept replaces 8567, Mapped from 8567 and itself, Maps to
	// itself. Incoming: 600 "Is a" rows read as "Subsumes" (the demo
	// release has no "Subsumes" rows from 8687 to list them already).
	if d.RelationshipsTotal != 4+600 || len(d.Relationships) != vocab.MaxRelationships || !d.RelationshipsTruncated() {
		t.Fatalf("8687: %d relationships of %d", len(d.Relationships), d.RelationshipsTotal)
	}
	got := relStrings(d.Relationships[:5])
	wantHead := []string{
		"outgoing Concept replaces 8567",
		"outgoing Mapped from 8567",
		"outgoing Mapped from 8687",
		"outgoing Maps to 8687",
		"incoming Subsumes " + fmt.Sprint(d.Relationships[4].Other.ID) + " reversed",
	}
	if !reflect.DeepEqual(got, wantHead) {
		t.Fatalf("8687 starts with\n%q\nwant\n%q", got, wantHead)
	}
	for i, r := range d.Relationships[4:] {
		if r.InvalidReason != "" || !r.OtherKnown || r.Direction != vocab.Incoming || !r.Reversed {
			t.Fatalf("row %d: %s", i+4, relString(r))
		}
		if i > 0 && r.Other.ID <= d.Relationships[i+3].Other.ID {
			t.Fatalf("incoming rows not ordered by concept id at %d", i+4)
		}
	}

	// Valid rows first; a concept missing from the release is still listed.
	d, err = store.Concept(ctx, 8482)
	if err != nil {
		t.Fatal(err)
	}
	want = []string{
		"outgoing Concept replaces 8569",
		"outgoing Mapped from 8482",
		"outgoing Mapped from 8569",
		"outgoing Maps to 8482",
		"incoming Subsumes 2000000000 reversed unknown",
		"incoming Subsumes 8479 reversed invalid:D",
	}
	if got := relStrings(d.Relationships); !reflect.DeepEqual(got, want) || d.RelationshipsTruncated() {
		t.Fatalf("8482:\n%q\nwant\n%q", got, want)
	}
	if u := d.Relationships[4]; u.Other.Name != "" || u.Other.VocabularyID != "" {
		t.Errorf("unknown concept %+v", u.Other)
	}
	if c := d.Relationships[5].Other; c.Name != "centipoise" || c.StandardConcept != "S" {
		t.Errorf("8479 %+v", c)
	}

	// The edited release still loads the same corpus both ways.
	fromDB, err := store.LoadCorpus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rel, err := athena.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	fromFiles, err := rel.LoadCorpus()
	if err != nil {
		t.Fatal(err)
	}
	if fromDB.Fingerprint != fromFiles.Fingerprint {
		t.Fatalf("fingerprints %s (PostgreSQL) and %s (files)", fromDB.Fingerprint, fromFiles.Fingerprint)
	}
}

// BenchmarkLoadCorpusAthenaDev loads the search corpus of the 125k-concept
// development vocabulary from PostgreSQL, and for comparison from the
// release's files; both must give the same corpus.
func BenchmarkLoadCorpusAthenaDev(b *testing.B) {
	if _, err := os.Stat(athenaDev); err != nil {
		b.Skipf("%s not present", athenaDev)
	}
	ctx := context.Background()
	im, store, _ := newImporter(b)
	mustImport(b, im, athenaDev)
	rel, err := athena.Open(athenaDev)
	if err != nil {
		b.Fatal(err)
	}
	var fromDB, fromFiles string
	b.Run("postgres", func(b *testing.B) {
		for b.Loop() {
			c, err := store.LoadCorpus(ctx)
			if err != nil {
				b.Fatal(err)
			}
			fromDB = c.Fingerprint
			b.ReportMetric(float64(len(c.Concepts)), "concepts")
		}
	})
	b.Run("files", func(b *testing.B) {
		for b.Loop() {
			c, err := rel.LoadCorpus()
			if err != nil {
				b.Fatal(err)
			}
			fromFiles = c.Fingerprint
		}
	})
	if fromDB != fromFiles {
		b.Fatalf("fingerprints %s (PostgreSQL) and %s (files)", fromDB, fromFiles)
	}
}

// BenchmarkConcept reads one concept with its relationships from the demo
// vocabulary: the database side of GET /api/v1/concepts/{id}.
func BenchmarkConcept(b *testing.B) {
	ctx := context.Background()
	im, store, _ := newImporter(b)
	mustImport(b, im, demoDir)
	for b.Loop() {
		if _, err := store.Concept(ctx, 8687); err != nil {
			b.Fatal(err)
		}
	}
}
