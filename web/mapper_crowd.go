package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/portiere/portiere/crowd"
	"github.com/portiere/portiere/mapper"
	"github.com/portiere/portiere/mappingjob"
	"github.com/portiere/portiere/search"
	"github.com/portiere/portiere/workflows"
)

// The crowd pages of the mapper app: the task feed, the vote page, the
// leaderboard, earnings, and the admin's payouts and anomaly flags. Each is
// one call into crowd.Service; only approved mappers reach the first two.

func (s *Server) crowdRoutes(mux *http.ServeMux) {
	if s.cfg.Crowd == nil {
		return
	}
	mux.Handle("GET /tasks", s.approvedMapper(s.feed))
	mux.Handle("GET /tasks/{id}", s.approvedMapper(s.votePage))
	mux.Handle("POST /tasks/{id}/vote", s.approvedMapper(s.vote))
	mux.Handle("GET /leaderboard", s.mapperPage(s.leaderboard))
	mux.Handle("GET /earnings", s.mapperPage(s.earnings))
	mux.Handle("POST /earnings/show", s.mapperPage(s.showEarnings))
	mux.Handle("GET /admin/payouts", s.mapperAdmin(s.adminPayouts))
	if s.cfg.Payouts != nil {
		mux.Handle("GET /admin/payouts/confirm", s.mapperAdmin(s.confirmPayoutBatch))
		mux.Handle("POST /admin/payouts/batches", s.mapperAdmin(s.startPayoutBatch))
	}
}

// PayoutStarter starts a payout batch for the selected mappers
// (*workflows.Client is one).
type PayoutStarter interface {
	StartPayout(ctx context.Context, in workflows.PayoutInput) (workflows.Run, error)
}

// approvedMapper admits approved mappers only; anyone else is sent to
// their status page (a GET) or refused (403).
func (s *Server) approvedMapper(h mapperFunc) http.Handler {
	return s.mapperWhen(mapper.Mapper.CanVote, "/status", "Only approved mappers review tasks.", h)
}

type feedData struct {
	Tasks  []crowd.Task
	Notice string
}

// feedSize is how many tasks the feed shows at once.
const feedSize = 20

func (s *Server) feed(w http.ResponseWriter, r *http.Request, v *visitor, m mapper.Mapper) error {
	tasks, err := s.cfg.Crowd.Feed(r.Context(), m.ID, feedSize)
	if err != nil {
		return err
	}
	d := feedData{Tasks: tasks}
	if c := r.URL.Query().Get("earned"); c != "" {
		d.Notice = "Vote recorded. You earned " + c + "."
	}
	return s.render(w, r, http.StatusOK, "mapper_feed", "Tasks", "tasks", d)
}

type voteData struct {
	Task       crowd.Task
	Candidates []candidateView
	Query      string
	Results    []searchResult
	Message    string
	Error      string
	CanSearch  bool
}

func taskID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, &pageError{Status: http.StatusNotFound, Message: "There is no such task."}
	}
	return id, nil
}

// voteData is the task of the request's {id} as m may see it.
func (s *Server) voteData(r *http.Request, m mapper.Mapper) (voteData, error) {
	id, err := taskID(r)
	if err != nil {
		return voteData{}, err
	}
	t, err := s.cfg.Crowd.Task(r.Context(), m.ID, id)
	if err != nil {
		return voteData{}, err
	}
	// The same ranked, explained candidates as the dashboard's review
	// queue.
	return voteData{Task: t, Candidates: candidatesOf(mappingjob.Item{Candidates: t.Candidates}),
		CanSearch: s.cfg.Search != nil && s.cfg.Concepts != nil}, nil
}

func (s *Server) votePage(w http.ResponseWriter, r *http.Request, v *visitor, m mapper.Mapper) error {
	d, err := s.voteData(r, m)
	if err != nil {
		return err
	}
	d.Query = strings.TrimSpace(r.URL.Query().Get("q"))
	if d.Query != "" && d.CanSearch {
		if err := s.conceptSearch(r, &d); err != nil {
			return err
		}
	}
	return s.render(w, r, http.StatusOK, "mapper_vote", "Review "+d.Task.Code, "tasks", d)
}

// conceptSearch fills the override's results from the live index:
// standard concepts only, in the candidates' vocabularies when known.
func (s *Server) conceptSearch(r *http.Request, d *voteData) error {
	e, err := s.cfg.Search.Engine()
	if err != nil {
		d.Message = "Search is not ready yet: type the concept id instead."
		return nil
	}
	res, err := e.Search(r.Context(), search.Query{Text: d.Query, Limit: 8, Filter: search.Filter{StandardOnly: true}})
	switch {
	case errors.Is(err, search.ErrEmptyQuery):
		return nil
	case err != nil:
		return err
	}
	for _, c := range res.Candidates {
		d.Results = append(d.Results, searchResult{ID: c.Concept.ID, Name: c.Concept.Name, Vocabulary: c.Concept.Vocabulary,
			Domain: c.Concept.Domain, Code: c.Concept.Code})
	}
	if len(d.Results) == 0 {
		d.Message = "No standard concept matches “" + d.Query + "”."
	}
	return nil
}

func (s *Server) vote(w http.ResponseWriter, r *http.Request, v *visitor, m mapper.Mapper) error {
	d, err := s.voteData(r, m)
	if err != nil {
		return err
	}
	again := func(status int, msg string) error {
		d.Error = msg
		return s.render(w, r, status, "mapper_vote", "Review "+d.Task.Code, "tasks", d)
	}
	in := crowd.VoteInput{Action: crowd.Action(r.PostForm.Get("action"))}
	conceptID := int32(0)
	if c := strings.TrimSpace(r.PostForm.Get("concept_id")); c != "" {
		n, err := strconv.ParseInt(c, 10, 32)
		if err != nil || n <= 0 {
			return again(http.StatusUnprocessableEntity, "A concept id is a positive whole number.")
		}
		conceptID = int32(n)
	}
	switch in.Action {
	case crowd.ActionApprove:
	case crowd.ActionReject:
		if conceptID != 0 {
			found := false
			for _, c := range d.Task.Candidates {
				if c.ConceptID == conceptID {
					in.ConceptID, in.ConceptName, in.VocabularyID, in.DomainID = c.ConceptID, c.ConceptName, c.VocabularyID, c.DomainID
					found = true
				}
			}
			if !found {
				return again(http.StatusUnprocessableEntity, "Choose one of the listed candidates, or none.")
			}
		}
	case crowd.ActionOverride:
		if conceptID == 0 {
			return again(http.StatusUnprocessableEntity, "Search for the right concept, or type its concept id, to override.")
		}
		if s.cfg.Concepts == nil {
			return again(http.StatusServiceUnavailable, "The vocabulary is not available here, so overrides cannot be checked.")
		}
		c, err := s.cfg.Concepts.Concept(r.Context(), conceptID)
		if err != nil {
			return again(http.StatusUnprocessableEntity, fmt.Sprintf("There is no concept %d in the vocabulary.", conceptID))
		}
		in.ConceptID, in.ConceptName, in.VocabularyID, in.DomainID = c.ID, c.Name, c.VocabularyID, c.DomainID
	default:
		return again(http.StatusUnprocessableEntity, "Choose approve, reject or override.")
	}
	res, err := s.cfg.Crowd.Vote(r.Context(), m.ID, d.Task.ID, in)
	switch {
	case errors.Is(err, crowd.ErrAlreadyVoted):
		return again(http.StatusConflict, "You have voted on this task already: one vote per task.")
	case errors.Is(err, crowd.ErrClosed):
		return again(http.StatusConflict, "This task takes no more votes: it is resolved, or with the expert reviewers.")
	case errors.Is(err, crowd.ErrInvalid):
		return again(http.StatusUnprocessableEntity, strings.TrimPrefix(err.Error(), "crowd: invalid: "))
	case err != nil:
		return err
	}
	http.Redirect(w, r, "/tasks?earned="+money(res.Reward), http.StatusSeeOther)
	return nil
}

// money is an amount in words: "1.25 USD".
func money(m crowd.Money) string {
	sign := ""
	c := m.Cents
	if c < 0 {
		sign, c = "-", -c
	}
	return fmt.Sprintf("%s%d.%02d %s", sign, c/100, c%100, strings.ToUpper(m.Currency))
}

type leaderboardData struct {
	Rows []crowd.LeaderboardRow
	Me   string
}

func (s *Server) leaderboard(w http.ResponseWriter, r *http.Request, v *visitor, m mapper.Mapper) error {
	rows, err := s.cfg.Crowd.Leaderboard(r.Context(), 50)
	if err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, "mapper_leaderboard", "Leaderboard", "leaderboard", leaderboardData{Rows: rows, Me: m.ID})
}

type earningsData struct {
	Stats   crowd.MapperStats
	Balance []crowd.Money
	Ledger  []crowd.Entry
	Payouts []crowd.Payout
	Notice  string
	// PayoutAccount: the Stripe Connect page is served.
	PayoutAccount bool
}

func (s *Server) earnings(w http.ResponseWriter, r *http.Request, v *visitor, m mapper.Mapper) error {
	ctx := r.Context()
	d := earningsData{PayoutAccount: s.cfg.PayoutAccounts != nil}
	var err error
	if d.Stats, err = s.cfg.Crowd.Stats(ctx, m.ID); err != nil {
		return err
	}
	if d.Balance, err = s.cfg.Crowd.Balance(ctx, m.ID); err != nil {
		return err
	}
	if d.Ledger, err = s.cfg.Crowd.Ledger(ctx, m.ID, 50); err != nil {
		return err
	}
	if d.Payouts, err = s.cfg.Crowd.MapperPayouts(ctx, m.ID, 20); err != nil {
		return err
	}
	if r.URL.Query().Get("saved") == "1" {
		d.Notice = "Saved."
	}
	return s.render(w, r, http.StatusOK, "mapper_earnings", "Earnings", "earnings", d)
}

func (s *Server) showEarnings(w http.ResponseWriter, r *http.Request, v *visitor, m mapper.Mapper) error {
	if err := s.cfg.Crowd.SetShowEarnings(r.Context(), m.ID, r.PostForm.Get("show") == "on"); err != nil {
		return err
	}
	http.Redirect(w, r, "/earnings?saved=1", http.StatusSeeOther)
	return nil
}

type adminPayoutsData struct {
	Pending []crowd.PendingPayout
	Payouts []crowd.Payout
	Flags   []crowd.Flag
	// CanStart: batches can be started here (Temporal configured).
	CanStart bool
	MinCents int64
	Batch    string // the batch whose transfers are listed; "" for all
}

// payoutMinCents is the minimum the pending list judges balances by: the
// worker's (MAPPER_PAYOUT_MIN_CENTS).
func (s *Server) payoutMinCents() int64 {
	if s.cfg.PayoutMinCents > 0 {
		return s.cfg.PayoutMinCents
	}
	return 1000
}

// adminPayouts lists balances awaiting payment (eligible or why not, with
// checkboxes to select a batch), the transfers — of one batch when ?batch=
// names it — with their statuses, and the anomaly flags.
func (s *Server) adminPayouts(w http.ResponseWriter, r *http.Request, v *visitor, me mapper.Mapper) error {
	ctx := r.Context()
	d := adminPayoutsData{CanStart: s.cfg.Payouts != nil, MinCents: s.payoutMinCents(), Batch: r.URL.Query().Get("batch")}
	var err error
	if d.Pending, err = s.cfg.Crowd.PendingPayouts(ctx, d.MinCents); err != nil {
		return err
	}
	if d.Payouts, err = s.cfg.Crowd.Payouts(ctx, d.Batch, 100); err != nil {
		return err
	}
	if d.Flags, err = s.cfg.Crowd.Flags(ctx); err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, "mapper_admin_payouts", "Payouts", "admin", d)
}

type confirmBatchData struct {
	Selected []crowd.PendingPayout
	Totals   []crowd.Money
}

// selectedEligible returns the eligible pending payouts of the mappers in
// ids, and an error page when none is selected or one is not payable.
func (s *Server) selectedEligible(r *http.Request, ids []string) ([]crowd.PendingPayout, error) {
	if len(ids) == 0 {
		return nil, &pageError{Status: http.StatusUnprocessableEntity, Message: "Choose at least one mapper to pay."}
	}
	pending, err := s.cfg.Crowd.PendingPayouts(r.Context(), s.payoutMinCents())
	if err != nil {
		return nil, err
	}
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
	}
	var out []crowd.PendingPayout
	for _, p := range pending {
		if want[p.MapperID] {
			if !p.Eligible {
				return nil, &pageError{Status: http.StatusUnprocessableEntity, Message: p.DisplayName + " cannot be paid now: " + p.Reason + "."}
			}
			out = append(out, p)
			delete(want, p.MapperID)
		}
	}
	if len(want) > 0 {
		return nil, &pageError{Status: http.StatusUnprocessableEntity, Message: "A selected mapper has no balance to pay any more. Go back and reload."}
	}
	return out, nil
}

// confirmPayoutBatch shows what a batch of the selected mappers would pay,
// before anything moves.
func (s *Server) confirmPayoutBatch(w http.ResponseWriter, r *http.Request, v *visitor, me mapper.Mapper) error {
	sel, err := s.selectedEligible(r, r.URL.Query()["mapper_id"])
	if err != nil {
		return err
	}
	d := confirmBatchData{Selected: sel}
	totals := map[string]int64{}
	var order []string
	for _, p := range sel {
		if _, ok := totals[p.Balance.Currency]; !ok {
			order = append(order, p.Balance.Currency)
		}
		totals[p.Balance.Currency] += p.Balance.Cents
	}
	for _, c := range order {
		d.Totals = append(d.Totals, crowd.Money{Currency: c, Cents: totals[c]})
	}
	return s.render(w, r, http.StatusOK, "mapper_admin_payout_confirm", "Confirm payout batch", "admin", d)
}

// startPayoutBatch starts PayoutWorkflow for the confirmed mappers; the
// workflow pays each once (idempotency keys from the ledger entries).
func (s *Server) startPayoutBatch(w http.ResponseWriter, r *http.Request, v *visitor, me mapper.Mapper) error {
	sel, err := s.selectedEligible(r, r.PostForm["mapper_id"])
	if err != nil {
		return err
	}
	ids := make([]string, len(sel))
	for i, p := range sel {
		ids[i] = p.MapperID
	}
	batch := "admin-" + s.cfg.Now().UTC().Format("20060102T150405.000Z")
	if _, err := s.cfg.Payouts.StartPayout(r.Context(), workflows.PayoutInput{BatchID: batch, MapperIDs: ids}); err != nil {
		s.cfg.Logger.Error("payout batch not started", "batch", batch, "error", err)
		return &pageError{Status: http.StatusServiceUnavailable, Message: "The payout batch could not be started: the workflow service is not answering. Nothing was paid; try again in a moment."}
	}
	s.cfg.Logger.Info("payout batch started", "batch", batch, "mappers", len(ids), "admin", me.ID)
	http.Redirect(w, r, "/admin/payouts?batch="+url.QueryEscape(batch), http.StatusSeeOther)
	return nil
}
