// Package vocabstore is the PostgreSQL vocab.Store and vocab.Reader: it
// imports a release by COPYing every file into staging tables, building
// their keys and indexes, and swapping them in for the live OMOP vocabulary
// tables in one transaction; and it reads the live tables back, a concept
// at a time or as a search corpus.
package vocabstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/portiere/portiere/vocab"
	"github.com/portiere/portiere/vocab/athena"
)

// Store implements vocab.Store and vocab.Reader on the tables of migration
// 0001 and the vocabulary_imports record of 0003. It is safe for
// concurrent use.
type Store struct {
	pool *pgxpool.Pool
}

var _ vocab.Store = (*Store)(nil)

// New returns a Store on pool. Replace holds one connection of the pool
// for the whole import.
func New(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

// HasConcepts implements vocab.Store.
func (s *Store) HasConcepts(ctx context.Context) (bool, error) {
	var ok bool
	if err := s.pool.QueryRow(ctx, `select exists (select 1 from concept)`).Scan(&ok); err != nil {
		return false, fmt.Errorf("vocabstore: %w", err)
	}
	return ok, nil
}

// LastImport implements vocab.Store.
func (s *Store) LastImport(ctx context.Context) (vocab.Report, error) {
	const q = `
select id, source, fingerprint, started_at, finished_at, report
from vocabulary_imports
where status = 'succeeded'
order by id desc
limit 1`
	var rep vocab.Report
	var raw []byte
	err := s.pool.QueryRow(ctx, q).Scan(&rep.ImportID, &rep.Source.Path, &rep.Source.Fingerprint, &rep.StartedAt, &rep.FinishedAt, &raw)
	if errors.Is(err, pgx.ErrNoRows) {
		return vocab.Report{}, vocab.ErrNotFound
	}
	if err != nil {
		return vocab.Report{}, fmt.Errorf("vocabstore: %w", err)
	}
	var rj reportJSON
	if err := json.Unmarshal(raw, &rj); err != nil {
		return vocab.Report{}, fmt.Errorf("vocabstore: import %d: decode report: %w", rep.ImportID, err)
	}
	rj.into(&rep)
	return rep, nil
}

// reportJSON is the stored form of a report (vocabulary_imports.report).
// It is its own type so the domain structs can change without rewriting
// old rows.
type reportJSON struct {
	PreviousFingerprint string      `json:"previous_fingerprint,omitempty"`
	Tables              []tableJSON `json:"tables"`
	FirstImport         bool        `json:"first_import"`
	Added               int64       `json:"added"`
	Removed             int64       `json:"removed"`
	Changed             int64       `json:"changed"`
	Changes             struct {
		Name     int64 `json:"name"`
		Domain   int64 `json:"domain"`
		Class    int64 `json:"class"`
		Standard int64 `json:"standard"`
		Validity int64 `json:"validity"`
		Code     int64 `json:"code"`
	} `json:"changes"`
	TargetsInvalidated       int64        `json:"targets_invalidated"`
	MappedTargetsInvalidated int64        `json:"mapped_targets_invalidated"`
	MappingsAffected         int64        `json:"mappings_affected"`
	InvalidatedTargets       []targetJSON `json:"invalidated_targets"`
}

type tableJSON struct {
	Table    string `json:"table"`
	File     string `json:"file,omitempty"`
	Rows     int64  `json:"rows"`
	Previous int64  `json:"previous"`
}

type targetJSON struct {
	ConceptID   int32  `json:"concept_id"`
	Reason      string `json:"reason"`
	MappedItems int64  `json:"mapped_items,omitempty"`
}

func toJSON(rep vocab.Report) reportJSON {
	d := rep.Diff
	rj := reportJSON{
		PreviousFingerprint: rep.PreviousFingerprint, FirstImport: d.FirstImport,
		Added: d.Added, Removed: d.Removed, Changed: d.Changed,
		TargetsInvalidated: d.TargetsInvalidated, MappedTargetsInvalidated: d.MappedTargetsInvalidated,
		MappingsAffected: d.MappingsAffected, InvalidatedTargets: []targetJSON{},
	}
	rj.Changes.Name, rj.Changes.Domain, rj.Changes.Class = d.Changes.Name, d.Changes.Domain, d.Changes.Class
	rj.Changes.Standard, rj.Changes.Validity, rj.Changes.Code = d.Changes.Standard, d.Changes.Validity, d.Changes.Code
	for _, t := range rep.Tables {
		rj.Tables = append(rj.Tables, tableJSON{Table: string(t.Table), File: t.File, Rows: t.Rows, Previous: t.Previous})
	}
	for _, t := range d.InvalidatedTargets {
		rj.InvalidatedTargets = append(rj.InvalidatedTargets, targetJSON{ConceptID: t.ConceptID, Reason: string(t.Reason), MappedItems: t.MappedItems})
	}
	return rj
}

func (rj reportJSON) into(rep *vocab.Report) {
	rep.PreviousFingerprint = rj.PreviousFingerprint
	rep.Diff = vocab.Diff{
		FirstImport: rj.FirstImport, Added: rj.Added, Removed: rj.Removed, Changed: rj.Changed,
		Changes: vocab.ChangeCounts{
			Name: rj.Changes.Name, Domain: rj.Changes.Domain, Class: rj.Changes.Class,
			Standard: rj.Changes.Standard, Validity: rj.Changes.Validity, Code: rj.Changes.Code,
		},
		TargetsInvalidated: rj.TargetsInvalidated, MappedTargetsInvalidated: rj.MappedTargetsInvalidated,
		MappingsAffected: rj.MappingsAffected,
	}
	for _, t := range rj.Tables {
		rep.Tables = append(rep.Tables, vocab.TableCount{Table: athena.Table(t.Table), File: t.File, Rows: t.Rows, Previous: t.Previous})
	}
	for _, t := range rj.InvalidatedTargets {
		rep.Diff.InvalidatedTargets = append(rep.Diff.InvalidatedTargets, vocab.InvalidatedTarget{ConceptID: t.ConceptID, Reason: vocab.TargetChange(t.Reason), MappedItems: t.MappedItems})
	}
}

// cleanupTimeout bounds the statements that tidy up after a failed or
// cancelled import; they run on a context that is no longer cancelled.
const cleanupTimeout = 30 * time.Second
