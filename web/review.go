package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/portiere/portiere/mappingjob"
	"github.com/portiere/portiere/search"
	"github.com/portiere/portiere/tenancy"
	"github.com/portiere/portiere/vocab"
)

// ReviewItems is what the review queue and the exports read and write of
// a project's mapping items; mappingjobstore.Store is one. The dashboard
// decides through the same calls as the API's review routes.
type ReviewItems interface {
	mappingjob.ItemLister
	mappingjob.AcceptedReader
	ItemByID(ctx context.Context, project string, id int64) (mappingjob.Item, error)
	Decide(ctx context.Context, project string, d mappingjob.Decision) (mappingjob.Item, error)
	ApproveWhere(ctx context.Context, project string, f mappingjob.Filter, d mappingjob.Decision) (int, error)
	Comment(ctx context.Context, project string, id int64, actor, comment string) (mappingjob.Event, error)
	History(ctx context.Context, project, kind string, id int64) ([]mappingjob.Event, error)
}

// ConceptReader returns one concept of the vocabulary with its synonyms
// and relationships, or vocab.ErrNotFound; vocabstore.Store is one.
type ConceptReader interface {
	Concept(ctx context.Context, id int32) (vocab.ConceptDetail, error)
}

// SearchProvider returns the engine serving searches now, or
// search.ErrNotReady; searchindex.Live is one.
type SearchProvider interface {
	Engine() (*search.Engine, error)
}

// reviewPage is how many items the queue shows at once.
const reviewPage = 25

func (s *Server) reviewRoutes(mux *http.ServeMux) {
	mux.Handle("GET /projects/{id}/review", s.member(s.reviewQueue))
	mux.Handle("GET /projects/{id}/review/approve", s.member(s.bulkApproveForm))
	mux.Handle("POST /projects/{id}/review/approve", s.member(s.bulkApprove))
	mux.Handle("POST /projects/{id}/review/items/{item}/{action}", s.member(s.decideItem))
	mux.Handle("GET /projects/{id}/review/items/{item}/search", s.member(s.overrideSearch))
	mux.Handle("GET /projects/{id}/review/items/{item}/history", s.member(s.itemHistory))
	mux.Handle("POST /projects/{id}/review/items/{item}/comments", s.member(s.commentItem))
	mux.Handle("GET /concepts/{cid}", s.member(s.conceptDetail))
}

var errNoReview = &pageError{Status: http.StatusServiceUnavailable,
	Message: "The review queue is not available in this deployment (the web app was started without the mapping store)."}

// reviewProject is the start of every review route: the store configured,
// the project of the organization worked in (404 otherwise) and readable.
func (s *Server) reviewProject(r *http.Request, v *visitor) (tenancy.Project, error) {
	if s.cfg.Review == nil || s.cfg.Concepts == nil {
		return tenancy.Project{}, errNoReview
	}
	project, err := s.projectOf(r, v)
	if err != nil {
		return project, err
	}
	return project, v.Principal().CanRead(project.ID)
}

// reviewFilter is the queue's filter form as typed.
type reviewFilter struct {
	Status, Band, Domain, Vocabulary, Text string
}

type reviewChoice struct{ Value, Label string }

var reviewStatusChoices = []reviewChoice{
	{"pending", "Open (pending)"}, {"approved", "Approved"}, {"overridden", "Overridden"},
	{"rejected", "Rejected"}, {"all", "Any status"},
}

// confidenceBands are the queue's confidence bands, bounds inclusive.
var confidenceBands = []struct {
	reviewChoice
	min, max *float64
}{
	{reviewChoice{"", "Any confidence"}, nil, nil},
	{reviewChoice{"high", "High (0.90 and above)"}, boundAt(0.9), nil},
	{reviewChoice{"medium", "Medium (0.60 to 0.90)"}, boundAt(0.6), boundAt(math.Nextafter(0.9, 0))},
	{reviewChoice{"low", "Low (below 0.60)"}, nil, boundAt(math.Nextafter(0.6, 0))},
}

func boundAt(v float64) *float64 { return &v }

func filterOf(q url.Values) reviewFilter {
	f := reviewFilter{Status: q.Get("status"), Band: q.Get("band"), Domain: strings.TrimSpace(q.Get("domain")),
		Vocabulary: strings.TrimSpace(q.Get("vocabulary")), Text: strings.TrimSpace(q.Get("q"))}
	known := false
	for _, c := range reviewStatusChoices {
		known = known || c.Value == f.Status
	}
	if !known {
		f.Status = "pending"
	}
	known = false
	for _, b := range confidenceBands {
		known = known || b.Value == f.Band
	}
	if !known {
		f.Band = ""
	}
	return f
}

// Query is f as the queue's query string.
func (f reviewFilter) Query() string {
	q := url.Values{"status": {f.Status}}
	for k, v := range map[string]string{"band": f.Band, "domain": f.Domain, "vocabulary": f.Vocabulary, "q": f.Text} {
		if v != "" {
			q.Set(k, v)
		}
	}
	return q.Encode()
}

func (f reviewFilter) bounds() (min, max *float64) {
	for _, b := range confidenceBands {
		if b.Value == f.Band {
			return b.min, b.max
		}
	}
	return nil, nil
}

func (f reviewFilter) items() mappingjob.ItemFilter {
	out := mappingjob.ItemFilter{Domain: f.Domain, Vocabulary: f.Vocabulary, Text: f.Text}
	if f.Status != "all" {
		out.Reviews = []mappingjob.ReviewStatus{mappingjob.ReviewStatus(f.Status)}
	}
	out.MinConfidence, out.MaxConfidence = f.bounds()
	return out
}

// bulk is the filter of a bulk approval: the open items among those f
// shows.
func (f reviewFilter) bulk() mappingjob.Filter {
	out := mappingjob.Filter{Domain: f.Domain, Vocabulary: f.Vocabulary, Text: f.Text}
	out.MinConfidence, out.MaxConfidence = f.bounds()
	return out
}

// CanBulk reports whether the filter shows open items, which a bulk
// approval takes.
func (f reviewFilter) CanBulk() bool { return f.Status == "pending" || f.Status == "all" }

// Label describes f in words for the confirmation.
func (f reviewFilter) Label() string {
	var parts []string
	for _, b := range confidenceBands {
		if b.Value == f.Band && f.Band != "" {
			parts = append(parts, "confidence "+strings.ToLower(b.Label))
		}
	}
	if f.Domain != "" {
		parts = append(parts, "domain "+f.Domain)
	}
	if f.Vocabulary != "" {
		parts = append(parts, "vocabulary "+f.Vocabulary)
	}
	if f.Text != "" {
		parts = append(parts, "text “"+f.Text+"”")
	}
	if len(parts) == 0 {
		return "every open item"
	}
	return "open items with " + strings.Join(parts, ", ")
}

// candidateView is a ranked candidate with its explanation in words.
type candidateView struct {
	mappingjob.Candidate
	Rank     int
	Target   bool   // the item's current target
	Score    string // formatted
	Evidence []string
}

func candidatesOf(it mappingjob.Item) []candidateView {
	out := make([]candidateView, 0, len(it.Candidates))
	for i, c := range it.Candidates {
		cv := candidateView{Candidate: c, Rank: i + 1, Target: c.ConceptID == it.ConceptID, Score: strconv.FormatFloat(c.Score, 'f', 3, 64)}
		if e, ok := c.Explain(); ok {
			if e.LexicalRank > 0 {
				cv.Evidence = append(cv.Evidence, fmt.Sprintf("lexical #%d (%.2f)", e.LexicalRank, e.LexicalScore))
			}
			if e.DenseRank > 0 {
				cv.Evidence = append(cv.Evidence, fmt.Sprintf("dense #%d (%.2f)", e.DenseRank, e.DenseScore))
			}
			if e.MatchedText != "" {
				field := e.MatchedField
				if field == "" {
					field = "text"
				}
				cv.Evidence = append(cv.Evidence, fmt.Sprintf("matched %s “%s”", field, e.MatchedText))
			}
			if e.MappedFrom != nil {
				via := fmt.Sprintf("via Maps to from %d", *e.MappedFrom)
				if e.MappedFromName != "" {
					via += " " + e.MappedFromName
				}
				cv.Evidence = append(cv.Evidence, via)
			}
		}
		out = append(out, cv)
	}
	return out
}

// itemView is one item of the queue with what its template needs: it is
// rendered alone as an htmx fragment after a decision.
type itemView struct {
	Item       mappingjob.Item
	State      mappingjob.ReviewState
	StateLabel string
	Confidence string
	Candidates []candidateView
	ProjectID  string
	CSRF       string
	Return     string // the queue's query, for plain-form redirects
	CanDecide  bool
	CanSearch  bool
	Message    string // why the last decision failed
	Notice     string // what the last decision did
}

var stateLabels = map[mappingjob.ReviewState]string{
	mappingjob.StateOpen:           "Open",
	mappingjob.StateAwaitingSecond: "Waiting for a second reviewer",
	mappingjob.StateFlagged:        "Flagged: the two reviewers disagree; a project admin decides",
	mappingjob.StateFinal:          "Decided",
}

func (s *Server) itemViewOf(it mappingjob.Item, project tenancy.Project, v *visitor, ret string) itemView {
	p := v.Principal()
	st := it.State()
	label := stateLabels[st]
	if st == mappingjob.StateFinal {
		label = "Decided: " + string(it.Review)
	}
	canDecide := p.CanDecide(project.ID) == nil
	if st == mappingjob.StateFlagged {
		canDecide = canDecide && p.CanAdminProject(project.ID) == nil
	}
	return itemView{Item: it, State: st, StateLabel: label, Confidence: strconv.FormatFloat(it.Confidence, 'f', 2, 64),
		Candidates: candidatesOf(it), ProjectID: project.ID, CSRF: v.Session.CSRFToken, Return: ret,
		CanDecide: canDecide, CanSearch: s.cfg.Search != nil}
}

type reviewData struct {
	Project   tenancy.Project
	Filter    reviewFilter
	Statuses  []reviewChoice
	Bands     []reviewChoice
	Items     []itemView
	Next      string // the query of the next page; "" on the last
	CanDecide bool
	Notice    string
	Error     string
}

func (s *Server) reviewData(r *http.Request, v *visitor, project tenancy.Project, f reviewFilter, after int64) (reviewData, error) {
	d := reviewData{Project: project, Filter: f, Statuses: reviewStatusChoices, CanDecide: v.Principal().CanDecide(project.ID) == nil}
	for _, b := range confidenceBands {
		d.Bands = append(d.Bands, b.reviewChoice)
	}
	items, err := s.cfg.Review.ListItems(r.Context(), project.ID, f.items(), after, reviewPage)
	if err != nil {
		return d, err
	}
	for _, it := range items {
		d.Items = append(d.Items, s.itemViewOf(it, project, v, f.Query()))
	}
	if len(items) == reviewPage {
		d.Next = f.Query() + "&after=" + strconv.FormatInt(items[len(items)-1].ID, 10)
	}
	return d, nil
}

func (s *Server) reviewQueue(w http.ResponseWriter, r *http.Request, v *visitor) error {
	project, err := s.reviewProject(r, v)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	after, _ := strconv.ParseInt(q.Get("after"), 10, 64)
	d, err := s.reviewData(r, v, project, filterOf(q), max(after, 0))
	if err != nil {
		return err
	}
	if n := q.Get("approved"); n != "" {
		if k, err := strconv.Atoi(n); err == nil {
			d.Notice = fmt.Sprintf("%d open items approved.", k)
		}
	}
	return s.render(w, r, http.StatusOK, "review", "Review · "+project.Name, "projects", d)
}

// itemOf parses the {item} route value; anything but a positive integer
// names no item.
func itemOf(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("item"), 10, 64)
	if err != nil || id <= 0 {
		return 0, &pageError{Status: http.StatusNotFound, Message: "There is no such mapping item in this project."}
	}
	return id, nil
}

// returnQuery re-reads the queue query a form carried, keeping only the
// filter's fields.
func returnQuery(r *http.Request) string {
	q, _ := url.ParseQuery(r.PostForm.Get("return"))
	return filterOf(q).Query()
}

var decisions = map[string]mappingjob.ReviewStatus{
	"approve": mappingjob.ReviewApproved, "reject": mappingjob.ReviewRejected, "override": mappingjob.ReviewOverridden,
}

// decideItem approves, rejects or overrides an item as the API's review
// routes do (mappingjob.Apply through the store, the project's
// second-reviewer rule, adjudication by project admins). htmx gets the
// item back as it now stands; a plain form is sent back to the queue.
func (s *Server) decideItem(w http.ResponseWriter, r *http.Request, v *visitor) error {
	project, err := s.reviewProject(r, v)
	if err != nil {
		return err
	}
	review, ok := decisions[r.PathValue("action")]
	if !ok {
		return &pageError{Status: http.StatusNotFound}
	}
	p := v.Principal()
	if err := p.CanDecide(project.ID); err != nil {
		return err
	}
	id, err := itemOf(r)
	if err != nil {
		return err
	}
	rev, _ := strconv.Atoi(r.PostForm.Get("revision"))
	d := mappingjob.Decision{ItemID: id, Review: review, DecidedBy: v.User.ID, Actor: v.User.ID,
		Comment: strings.TrimSpace(r.PostForm.Get("comment")), Revision: max(rev, 0)}
	ret := returnQuery(r)
	if review == mappingjob.ReviewOverridden {
		msg, err := s.resolveOverride(r, &d)
		if err != nil {
			return err
		}
		if msg != "" {
			return s.decisionFailed(w, r, v, project, id, ret, http.StatusUnprocessableEntity, msg)
		}
	}
	d.SecondReview = mappingjob.SecondReviewRule(string(project.Settings.SecondReviewer), mappingjob.ActionOf(review))
	d.Adjudication = p.CanAdminProject(project.ID) == nil
	it, err := s.cfg.Review.Decide(r.Context(), project.ID, d)
	switch {
	case errors.Is(err, mappingjob.ErrNotFound):
		return &pageError{Status: http.StatusNotFound, Message: "There is no such mapping item in this project."}
	case errors.Is(err, mappingjob.ErrSameReviewer):
		return s.decisionFailed(w, r, v, project, id, ret, http.StatusConflict,
			"You gave the first decision on this item: a different reviewer must confirm or dispute it.")
	case errors.Is(err, mappingjob.ErrConflict):
		return s.decisionFailed(w, r, v, project, id, ret, http.StatusConflict,
			"This item changed since you loaded it (someone else decided it, or it was flagged). It now shows its current state: check it and decide again.")
	case errors.Is(err, mappingjob.ErrInvalid):
		return s.decisionFailed(w, r, v, project, id, ret, http.StatusUnprocessableEntity,
			"This item has no concept to approve: override it with a concept, or reject it.")
	case err != nil:
		return err
	}
	s.cfg.Logger.Info("web review decision", "project_id", project.ID, "item_id", id, "decision", review, "user_id", v.User.ID)
	if !isHTMX(r) {
		http.Redirect(w, r, "/projects/"+project.ID+"/review?"+ret+"#item-"+strconv.FormatInt(id, 10), http.StatusSeeOther)
		return nil
	}
	iv := s.itemViewOf(it, project, v, ret)
	iv.Notice = map[mappingjob.ReviewStatus]string{mappingjob.ReviewApproved: "Approved.", mappingjob.ReviewRejected: "Rejected.",
		mappingjob.ReviewOverridden: "Overridden."}[review]
	if iv.State == mappingjob.StateAwaitingSecond {
		iv.Notice = "Recorded: waiting for a second reviewer."
	}
	if iv.State == mappingjob.StateFlagged {
		iv.Notice = "Recorded: the two reviewers disagree, so the item is flagged for a project admin."
	}
	return s.fragmentWithStatus(w, http.StatusOK, "review", "reviewitem", iv)
}

// resolveOverride fills d's target from the vocabulary: the concept chosen
// from the search results (concept_id) or typed (concept_id_manual). It
// returns the message for a missing or unknown concept.
func (s *Server) resolveOverride(r *http.Request, d *mappingjob.Decision) (string, error) {
	raw := strings.TrimSpace(r.PostForm.Get("concept_id"))
	if raw == "" {
		raw = strings.TrimSpace(r.PostForm.Get("concept_id_manual"))
	}
	id, err := strconv.ParseInt(raw, 10, 32)
	if err != nil || id <= 0 {
		return "Choose the concept to map to: search for it, or type its concept id.", nil
	}
	cd, err := s.cfg.Concepts.Concept(r.Context(), int32(id))
	if errors.Is(err, vocab.ErrNotFound) {
		return fmt.Sprintf("Concept %d is not in the vocabulary.", id), nil
	}
	if err != nil {
		return "", err
	}
	d.ConceptID, d.ConceptName, d.VocabularyID, d.DomainID = cd.ID, cd.Name, cd.VocabularyID, cd.DomainID
	return "", nil
}

// decisionFailed shows why a decision was refused with the item as it now
// stands: the item alone for htmx, the queue with the message otherwise.
func (s *Server) decisionFailed(w http.ResponseWriter, r *http.Request, v *visitor, project tenancy.Project, id int64, ret string, status int, msg string) error {
	if isHTMX(r) {
		it, err := s.cfg.Review.ItemByID(r.Context(), project.ID, id)
		if err != nil {
			return err
		}
		iv := s.itemViewOf(it, project, v, ret)
		iv.Message = msg
		return s.fragmentWithStatus(w, status, "review", "reviewitem", iv)
	}
	q, _ := url.ParseQuery(ret)
	d, err := s.reviewData(r, v, project, filterOf(q), 0)
	if err != nil {
		return err
	}
	d.Error = msg
	return s.render(w, r, status, "review", "Review · "+project.Name, "projects", d)
}

// fragmentWithStatus is fragment with a status other than 200 (htmx is told
// by review.js to swap 409 and 422 answers: they carry the message).
func (s *Server) fragmentWithStatus(w http.ResponseWriter, status int, page, name string, data any) error {
	var buf bytes.Buffer
	if err := s.pages[page].ExecuteTemplate(&buf, name, data); err != nil {
		return fmt.Errorf("web: render %s/%s: %w", page, name, err)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, err := w.Write(buf.Bytes())
	return err
}

type bulkData struct {
	Project tenancy.Project
	Filter  reviewFilter
}

func (s *Server) bulkApproveForm(w http.ResponseWriter, r *http.Request, v *visitor) error {
	project, err := s.reviewProject(r, v)
	if err != nil {
		return err
	}
	if err := v.Principal().CanDecide(project.ID); err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, "review_bulk", "Approve · "+project.Name, "projects",
		bulkData{Project: project, Filter: filterOf(r.URL.Query())})
}

// bulkApprove approves the open items the filter shows, each under the
// second-reviewer rule with its audit row (the store's ApproveWhere, as
// the API's approve-by-filter route).
func (s *Server) bulkApprove(w http.ResponseWriter, r *http.Request, v *visitor) error {
	project, err := s.reviewProject(r, v)
	if err != nil {
		return err
	}
	if err := v.Principal().CanDecide(project.ID); err != nil {
		return err
	}
	f := filterOf(r.PostForm)
	d := mappingjob.Decision{Review: mappingjob.ReviewApproved, DecidedBy: v.User.ID, Actor: v.User.ID,
		Comment:      strings.TrimSpace(r.PostForm.Get("comment")),
		SecondReview: mappingjob.SecondReviewRule(string(project.Settings.SecondReviewer), mappingjob.ActionApprove)}
	n, err := s.cfg.Review.ApproveWhere(r.Context(), project.ID, f.bulk(), d)
	if err != nil {
		return err
	}
	s.cfg.Logger.Info("web bulk approval", "project_id", project.ID, "approved", n, "user_id", v.User.ID)
	http.Redirect(w, r, "/projects/"+project.ID+"/review?"+f.Query()+"&approved="+strconv.Itoa(n), http.StatusSeeOther)
	return nil
}

type searchData struct {
	ItemID  int64
	Query   string
	Results []searchResult
	Message string
}

type searchResult struct {
	ID                             int32
	Name, Vocabulary, Domain, Code string
}

// overrideSearch answers the override box's search-as-you-type with the
// live engine, limited to the project's vocabularies and to standard
// concepts.
func (s *Server) overrideSearch(w http.ResponseWriter, r *http.Request, v *visitor) error {
	project, err := s.reviewProject(r, v)
	if err != nil {
		return err
	}
	id, err := itemOf(r)
	if err != nil {
		return err
	}
	d := searchData{ItemID: id, Query: strings.TrimSpace(r.URL.Query().Get("q"))}
	switch {
	case s.cfg.Search == nil:
		d.Message = "Search is not available here: type the concept id."
	case d.Query == "":
	default:
		e, err := s.cfg.Search.Engine()
		if err != nil {
			d.Message = "The search index is not loaded yet: type the concept id."
			break
		}
		res, err := e.Search(r.Context(), search.Query{Text: d.Query, Limit: 8,
			Filter: search.Filter{Vocabularies: project.Settings.Vocabularies, StandardOnly: true}})
		var uv *search.UnknownVocabularyError
		switch {
		case errors.As(err, &uv):
			d.Message = fmt.Sprintf("The project's vocabulary %s is not in the search index.", uv.Vocabulary)
		case errors.Is(err, search.ErrEmptyQuery):
		case err != nil:
			return err
		}
		for _, c := range res.Candidates {
			d.Results = append(d.Results, searchResult{ID: c.Concept.ID, Name: c.Concept.Name, Vocabulary: c.Concept.Vocabulary,
				Domain: c.Concept.Domain, Code: c.Concept.Code})
		}
		if err == nil && len(d.Results) == 0 {
			d.Message = "No standard concept matches “" + d.Query + "”."
		}
	}
	return s.fragment(w, "review", "searchresults", d)
}

type eventView struct {
	Actor, Action, Comment, Detail string
	At                             time.Time
}

type historyData struct {
	ProjectID  string
	ItemID     int64
	CSRF       string
	Events     []eventView
	CanComment bool
	Error      string
}

func (s *Server) historyOf(r *http.Request, v *visitor, project tenancy.Project, id int64) (historyData, error) {
	d := historyData{ProjectID: project.ID, ItemID: id, CSRF: v.Session.CSRFToken, CanComment: v.Principal().CanDecide(project.ID) == nil}
	if _, err := s.cfg.Review.ItemByID(r.Context(), project.ID, id); err != nil {
		if errors.Is(err, mappingjob.ErrNotFound) {
			return d, &pageError{Status: http.StatusNotFound, Message: "There is no such mapping item in this project."}
		}
		return d, err
	}
	events, err := s.cfg.Review.History(r.Context(), project.ID, mappingjob.KindConcept, id)
	if err != nil {
		return d, err
	}
	names := map[string]string{}
	for _, e := range events {
		ev := eventView{Actor: e.Actor, Action: e.Action, Comment: e.Comment, At: e.At}
		if n, ok := names[e.Actor]; ok {
			ev.Actor = n
		} else if u, err := s.cfg.Tenants.User(r.Context(), e.Actor); err == nil {
			n := u.Email
			if u.Name != "" {
				n = u.Name + " <" + u.Email + ">"
			}
			names[e.Actor], ev.Actor = n, n
		}
		var after mappingjob.Snapshot
		if len(e.After) > 0 && string(e.After) != "null" {
			if err := json.Unmarshal(e.After, &after); err == nil {
				ev.Detail = snapshotText(after)
			}
		}
		d.Events = append(d.Events, ev)
	}
	return d, nil
}

// snapshotText says in words where an item stood after an action.
func snapshotText(sn mappingjob.Snapshot) string {
	target := "no target"
	if sn.TargetConceptID != nil {
		target = fmt.Sprintf("%d %s", *sn.TargetConceptID, sn.TargetConceptName)
	}
	return fmt.Sprintf("%s, %s → %s (revision %d)", sn.ReviewDecision, strings.ReplaceAll(string(sn.ReviewState), "_", " "), target, sn.Revision)
}

func (s *Server) itemHistory(w http.ResponseWriter, r *http.Request, v *visitor) error {
	project, err := s.reviewProject(r, v)
	if err != nil {
		return err
	}
	id, err := itemOf(r)
	if err != nil {
		return err
	}
	d, err := s.historyOf(r, v, project, id)
	if err != nil {
		return err
	}
	if isHTMX(r) {
		return s.fragment(w, "review_history", "history", d)
	}
	return s.render(w, r, http.StatusOK, "review_history", fmt.Sprintf("Item %d · %s", id, project.Name), "projects",
		map[string]any{"Project": project, "History": d})
}

// commentItem adds a comment to an item's audit trail; like deciding, it
// needs a member's role (the API's comment route).
func (s *Server) commentItem(w http.ResponseWriter, r *http.Request, v *visitor) error {
	project, err := s.reviewProject(r, v)
	if err != nil {
		return err
	}
	if err := v.Principal().CanDecide(project.ID); err != nil {
		return err
	}
	id, err := itemOf(r)
	if err != nil {
		return err
	}
	text := strings.TrimSpace(r.PostForm.Get("comment"))
	if text != "" && len(text) <= 4000 {
		_, err = s.cfg.Review.Comment(r.Context(), project.ID, id, v.User.ID, text)
		if errors.Is(err, mappingjob.ErrNotFound) {
			return &pageError{Status: http.StatusNotFound, Message: "There is no such mapping item in this project."}
		}
		if err != nil {
			return err
		}
	}
	if !isHTMX(r) {
		http.Redirect(w, r, fmt.Sprintf("/projects/%s/review/items/%d/history", project.ID, id), http.StatusSeeOther)
		return nil
	}
	d, err := s.historyOf(r, v, project, id)
	if err != nil {
		return err
	}
	if text == "" || len(text) > 4000 {
		d.Error = "Write a comment (at most 4000 characters)."
	}
	return s.fragment(w, "review_history", "history", d)
}

// conceptDetail shows one concept of the vocabulary: an htmx fragment in
// the queue, a page otherwise.
func (s *Server) conceptDetail(w http.ResponseWriter, r *http.Request, v *visitor) error {
	if s.cfg.Concepts == nil {
		return errNoReview
	}
	if err := v.Principal().CanRead(""); err != nil {
		return err
	}
	id, err := strconv.ParseInt(r.PathValue("cid"), 10, 32)
	notFound := &pageError{Status: http.StatusNotFound, Message: "There is no such concept in the vocabulary."}
	if err != nil || id <= 0 {
		return notFound
	}
	cd, err := s.cfg.Concepts.Concept(r.Context(), int32(id))
	if errors.Is(err, vocab.ErrNotFound) {
		return notFound
	}
	if err != nil {
		return err
	}
	if len(cd.Synonyms) > 10 {
		cd.Synonyms = cd.Synonyms[:10]
	}
	if len(cd.Relationships) > 15 {
		cd.Relationships = cd.Relationships[:15]
	}
	if isHTMX(r) {
		return s.fragment(w, "concept", "conceptdetail", cd)
	}
	return s.render(w, r, http.StatusOK, "concept", cd.Name, "", cd)
}
