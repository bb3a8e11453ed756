package crowdstore_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/portiere/portiere/crowd"
	"github.com/portiere/portiere/mapper"
	"github.com/portiere/portiere/mappingjob"
)

// BenchmarkVote measures a mapper's round trip on a crowd of 5,000 open
// tasks: the feed (20 tasks, expertise matched, calibration mixed in),
// opening the first task and voting on it (one Cast transaction with the
// reward entry, then the write-back retry).
func BenchmarkVote(b *testing.B) {
	w := newWorld(b)
	const n = 5000
	var items []mappingjob.Item
	for i := 0; i < n; i++ {
		items = append(items, mappingjob.Item{Source: "S", Code: fmt.Sprint("B", i), Description: "bench", ConceptID: 201826,
			Candidates: candidates, Confidence: 0.5, Method: mappingjob.MethodReview})
	}
	if err := w.jobs.UpsertItems(w.ctx, w.project.ID, items); err != nil {
		b.Fatal(err)
	}
	open, err := w.jobs.OpenItems(w.ctx, w.project.ID, 0, 1)
	if err != nil {
		b.Fatal(err)
	}
	var ids []int64
	for _, it := range open {
		ids = append(ids, it.ID)
	}
	for start := 0; start < len(ids); start += crowd.MaxSubmission {
		if _, err := w.svc.Submit(w.ctx, crowd.Submission{OrganizationID: w.org.ID, ProjectID: w.project.ID, ItemIDs: ids[start:min(start+crowd.MaxSubmission, len(ids))]}); err != nil {
			b.Fatal(err)
		}
	}
	m := mapper.Mapper{ID: mapper.NewID("mpr_"), LineUserID: "Ubench", DisplayName: "bench", Status: mapper.StatusApproved,
		RatePercent: 100, Expertise: mapper.Expertise{Vocabularies: []string{"SNOMED"}}, CreatedAt: w.now, UpdatedAt: w.now}
	if err := w.mappers.Create(w.ctx, m); err != nil {
		b.Fatal(err)
	}
	// As autovacuum would have by now: plans from real statistics.
	if _, err := w.pool.Exec(w.ctx, `analyze`); err != nil {
		b.Fatal(err)
	}
	var tf, tt, tv time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		feed, err := w.svc.Feed(w.ctx, m.ID, 20)
		if err != nil || len(feed) == 0 {
			b.Fatalf("feed %d: %v", len(feed), err)
		}
		t1 := time.Now()
		if _, err := w.svc.Task(w.ctx, m.ID, feed[0].ID); err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		if _, err := w.svc.Vote(w.ctx, m.ID, feed[0].ID, crowd.VoteInput{Action: crowd.ActionApprove}); err != nil {
			b.Fatal(err)
		}
		tf, tt, tv = tf+t1.Sub(t0), tt+t2.Sub(t1), tv+time.Since(t2)
	}
	b.ReportMetric(float64(tf.Microseconds())/float64(b.N), "feed-µs/op")
	b.ReportMetric(float64(tt.Microseconds())/float64(b.N), "open-µs/op")
	b.ReportMetric(float64(tv.Microseconds())/float64(b.N), "vote-µs/op")
}
