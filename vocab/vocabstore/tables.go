package vocabstore

import (
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/portiere/portiere/vocab"
	"github.com/portiere/portiere/vocab/athena"
)

// spec says how one release file fills one table.
type spec struct {
	table   athena.Table // also the table's name in the database
	columns []string     // COPY column list, in the order fill writes values
	open    func(*athena.Release) (rowSource, error)
}

// rowSource is an athena.Rows of any row type that can write its current
// row as COPY values.
type rowSource interface {
	Next() bool
	Err() error
	Close() error
	File() string
	Line() int
	Offset() int64
	Size() int64
	values(dst []any)
}

type rows[T any] struct {
	*athena.Rows[T]
	fill func(T, []any)
}

func (r rows[T]) values(dst []any) { r.fill(r.Row(), dst) }

func source[T any](open func() (*athena.Rows[T], error), fill func(T, []any)) (rowSource, error) {
	r, err := open()
	if err != nil {
		return nil, err
	}
	return rows[T]{Rows: r, fill: fill}, nil
}

// null maps the reader's "" for an empty nullable field to SQL NULL.
func null(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func date(t time.Time) pgtype.Date { return pgtype.Date{Time: t, Valid: true} }

// specs lists the tables in load order: small reference tables first, so a
// mistake in the release's layout shows before the big files are read.
func specs() []spec {
	return []spec{
		{athena.TableVocabulary, []string{"vocabulary_id", "vocabulary_name", "vocabulary_reference", "vocabulary_version", "vocabulary_concept_id"},
			func(r *athena.Release) (rowSource, error) {
				return source(r.VocabularyRows, func(v athena.Vocabulary, d []any) {
					d[0], d[1], d[2], d[3], d[4] = v.ID, v.Name, null(v.Reference), null(v.Version), v.ConceptID
				})
			}},
		{athena.TableDomain, []string{"domain_id", "domain_name", "domain_concept_id"},
			func(r *athena.Release) (rowSource, error) {
				return source(r.DomainRows, func(v athena.Domain, d []any) { d[0], d[1], d[2] = v.ID, v.Name, v.ConceptID })
			}},
		{athena.TableConceptClass, []string{"concept_class_id", "concept_class_name", "concept_class_concept_id"},
			func(r *athena.Release) (rowSource, error) {
				return source(r.ConceptClassRows, func(v athena.ConceptClass, d []any) { d[0], d[1], d[2] = v.ID, v.Name, v.ConceptID })
			}},
		{athena.TableRelationship, []string{"relationship_id", "relationship_name", "is_hierarchical", "defines_ancestry", "reverse_relationship_id", "relationship_concept_id"},
			func(r *athena.Release) (rowSource, error) {
				return source(r.RelationshipTypeRows, func(v athena.RelationshipType, d []any) {
					d[0], d[1], d[2], d[3], d[4], d[5] = v.ID, v.Name, v.IsHierarchical, v.DefinesAncestry, v.ReverseID, v.ConceptID
				})
			}},
		{athena.TableConcept, []string{"concept_id", "concept_name", "domain_id", "vocabulary_id", "concept_class_id",
			"standard_concept", "concept_code", "valid_start_date", "valid_end_date", "invalid_reason"},
			func(r *athena.Release) (rowSource, error) {
				return source(r.ConceptRows, func(c athena.Concept, d []any) {
					d[0], d[1], d[2], d[3], d[4] = c.ID, c.Name, c.DomainID, c.VocabularyID, c.ClassID
					d[5], d[6], d[7], d[8], d[9] = null(c.StandardConcept), c.Code, date(c.ValidStart), date(c.ValidEnd), null(c.InvalidReason)
				})
			}},
		{athena.TableConceptSynonym, []string{"concept_id", "concept_synonym_name", "language_concept_id"},
			func(r *athena.Release) (rowSource, error) {
				return source(r.SynonymRows, func(s athena.Synonym, d []any) { d[0], d[1], d[2] = s.ConceptID, s.Name, s.LanguageConceptID })
			}},
		{athena.TableConceptRelationship, []string{"concept_id_1", "concept_id_2", "relationship_id", "valid_start_date", "valid_end_date", "invalid_reason"},
			func(r *athena.Release) (rowSource, error) {
				return source(r.RelationshipRows, func(v athena.Relationship, d []any) {
					d[0], d[1], d[2], d[3], d[4], d[5] = v.ConceptID1, v.ConceptID2, v.RelationshipID, date(v.ValidStart), date(v.ValidEnd), null(v.InvalidReason)
				})
			}},
		{athena.TableConceptAncestor, []string{"ancestor_concept_id", "descendant_concept_id", "min_levels_of_separation", "max_levels_of_separation"},
			func(r *athena.Release) (rowSource, error) {
				return source(r.AncestorRows, func(v athena.Ancestor, d []any) {
					d[0], d[1], d[2], d[3] = v.AncestorID, v.DescendantID, v.MinLevels, v.MaxLevels
				})
			}},
	}
}

// copySource feeds one file to pgx.CopyFrom. It checks what the reader
// cannot know, the column widths of the schema, so an over-long name fails
// with its file and line instead of a bare PostgreSQL error; and it reports
// progress.
type copySource struct {
	spec     spec
	src      rowSource
	vals     []any
	maxChars []int // per column; 0 = unbounded
	err      error
	rows     int64
	start    time.Time
	lastSent time.Time
	progress vocab.Progress
}

func newCopySource(sp spec, src rowSource, maxChars []int, p vocab.Progress) *copySource {
	now := time.Now()
	return &copySource{spec: sp, src: src, vals: make([]any, len(sp.columns)), maxChars: maxChars, start: now, lastSent: now, progress: p}
}

func (c *copySource) Next() bool {
	if c.err != nil || !c.src.Next() {
		return false
	}
	c.rows++
	// Checking the clock every row would cost more than the row.
	if c.rows&1023 == 0 && time.Since(c.lastSent) >= 100*time.Millisecond {
		c.report(false)
	}
	return true
}

func (c *copySource) Values() ([]any, error) {
	c.src.values(c.vals)
	for i, n := range c.maxChars {
		if n == 0 {
			continue
		}
		// len counts bytes, which is at least the character count, so the
		// rune count is only needed for long values.
		if s, ok := c.vals[i].(string); ok && len(s) > n {
			if chars := utf8.RuneCountInString(s); chars > n {
				c.err = &athena.ParseError{File: c.src.File(), Line: c.src.Line(), Column: c.spec.columns[i],
					Msg: fmt.Sprintf("%d characters, the database column holds at most %d", chars, n)}
				return nil, c.err
			}
		}
	}
	return c.vals, nil
}

func (c *copySource) Err() error {
	if c.err != nil {
		return c.err
	}
	return c.src.Err()
}

func (c *copySource) report(done bool) {
	c.lastSent = time.Now()
	el := c.lastSent.Sub(c.start)
	rate := 0.0
	if el > 0 {
		rate = float64(c.rows) / el.Seconds()
	}
	c.progress.Update(vocab.Update{
		Stage: vocab.StageCopy, Table: string(c.spec.table), File: c.src.File(),
		Rows: c.rows, Bytes: c.src.Offset(), Size: c.src.Size(), RowsPerSecond: rate, Elapsed: el, Done: done,
	})
}
