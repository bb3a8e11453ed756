package crowd

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/portiere/portiere/mappingjob"
)

// MaxSubmission is the most items one submission sends.
const MaxSubmission = 1000

// Submit sends a project's open items to the crowd: sub.ItemIDs, or every
// open item of the review band [MinConfidence, MaxConfidence] when no ids
// are given. An item already sent keeps its task. The caller checked that
// the project belongs to sub.OrganizationID.
//
// Errors: ErrInvalid for no ids and an empty band, more than
// MaxSubmission items, or an item a reviewer decided already (the message
// lists them; nothing is sent); ErrNotFound for an id that is not one of
// the project's items.
func (s *Service) Submit(ctx context.Context, sub Submission) ([]ItemStatus, error) {
	var items []mappingjob.Item
	if len(sub.ItemIDs) > 0 {
		if len(sub.ItemIDs) > MaxSubmission {
			return nil, fmt.Errorf("%w: %d items in one submission, at most %d", ErrInvalid, len(sub.ItemIDs), MaxSubmission)
		}
		var decided []string
		seen := map[int64]bool{}
		for _, id := range sub.ItemIDs {
			if seen[id] {
				continue
			}
			seen[id] = true
			it, err := s.items.ItemByID(ctx, sub.ProjectID, id)
			if errors.Is(err, mappingjob.ErrNotFound) {
				return nil, fmt.Errorf("%w: item %d is not one of the project's", ErrNotFound, id)
			}
			if err != nil {
				return nil, err
			}
			if it.State() != mappingjob.StateOpen {
				decided = append(decided, fmt.Sprint(id))
				continue
			}
			items = append(items, it)
		}
		if len(decided) > 0 {
			return nil, fmt.Errorf("%w: items %s are decided or under review already; only open items go to the crowd", ErrInvalid, strings.Join(decided, ", "))
		}
	} else {
		if sub.MaxConfidence == 0 && sub.MinConfidence == 0 {
			return nil, fmt.Errorf("%w: give item ids or a confidence band", ErrInvalid)
		}
		if sub.MinConfidence < 0 || sub.MaxConfidence > 1 || sub.MinConfidence > sub.MaxConfidence {
			return nil, fmt.Errorf("%w: confidence band [%g, %g] is not within [0, 1]", ErrInvalid, sub.MinConfidence, sub.MaxConfidence)
		}
		var err error
		items, err = s.items.OpenItems(ctx, sub.ProjectID, sub.MinConfidence, sub.MaxConfidence)
		if err != nil {
			return nil, err
		}
		if len(items) > MaxSubmission {
			return nil, fmt.Errorf("%w: the band holds %d open items, at most %d go in one submission; narrow it or send ids", ErrInvalid, len(items), MaxSubmission)
		}
	}
	if len(items) == 0 {
		return []ItemStatus{}, nil
	}
	tasks := make([]Task, len(items))
	for i, it := range items {
		tasks[i] = TaskOf(sub.OrganizationID, sub.ProjectID, it)
		tasks[i].SubmittedBy = sub.SubmittedBy
	}
	if _, err := s.store.CreateTasks(ctx, tasks); err != nil {
		return nil, err
	}
	ids := make([]int64, len(items))
	for i, it := range items {
		ids[i] = it.ID
	}
	return s.store.ItemStatuses(ctx, sub.ProjectID, ids)
}

// Status returns the crowd status of project's items that were sent
// (every one when ids is empty), by item id.
func (s *Service) Status(ctx context.Context, project string, ids []int64) ([]ItemStatus, error) {
	return s.store.ItemStatuses(ctx, project, ids)
}

// TaskOf is the task item of project makes: its code, description,
// source, candidates and confidence; the candidates' vocabularies and
// domains (lower case) for the feed's expertise match.
func TaskOf(org, project string, it mappingjob.Item) Task {
	t := Task{OrganizationID: org, ProjectID: project, ItemID: it.ID, Source: it.Source, Code: it.Code,
		Description: it.Description, SourceColumn: it.SourceColumn, Candidates: it.Candidates, Confidence: it.Confidence,
		Context: map[string]string{}}
	if it.SourceColumn != "" {
		t.Context["column"] = it.SourceColumn
	}
	if it.SourceCount > 0 {
		t.Context["count"] = fmt.Sprint(it.SourceCount)
	}
	voc, dom := map[string]bool{}, map[string]bool{}
	for _, c := range it.Candidates {
		if c.VocabularyID != "" {
			voc[strings.ToLower(c.VocabularyID)] = true
		}
		if c.DomainID != "" {
			dom[strings.ToLower(c.DomainID)] = true
		}
	}
	t.Vocabularies, t.Domains = keys(voc), keys(dom)
	return t
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
