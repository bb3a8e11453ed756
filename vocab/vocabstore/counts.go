package vocabstore

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/portiere/portiere/vocab"
)

// VocabularyCounts returns the live concept counts per vocabulary, by
// vocabulary id; an empty vocabulary gives an empty list. It scans the
// concept table, so callers showing it often should cache it.
func (s *Store) VocabularyCounts(ctx context.Context) ([]vocab.VocabularyCount, error) {
	const q = `
		select c.vocabulary_id, coalesce(v.vocabulary_name, ''), coalesce(v.vocabulary_version, ''),
			count(*), count(*) filter (where c.standard_concept = 'S')
		from concept c left join vocabulary v on v.vocabulary_id = c.vocabulary_id
		group by c.vocabulary_id, v.vocabulary_name, v.vocabulary_version
		order by c.vocabulary_id`
	rows, err := s.pool.Query(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("vocabstore: vocabulary counts: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (vocab.VocabularyCount, error) {
		var c vocab.VocabularyCount
		err := r.Scan(&c.VocabularyID, &c.Name, &c.Version, &c.Concepts, &c.Standard)
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("vocabstore: vocabulary counts: %w", err)
	}
	return out, nil
}
