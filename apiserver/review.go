package apiserver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/portiere/portiere/apiserver/openapi"
	"github.com/portiere/portiere/mappingjob"
	"github.com/portiere/portiere/review/agreement"
	"github.com/portiere/portiere/tenancy"
	"github.com/portiere/portiere/vocab"
)

// ReviewStore is what the review routes need of the mapping items;
// mappingjobstore.Store is one.
type ReviewStore interface {
	ItemByID(ctx context.Context, project string, id int64) (mappingjob.Item, error)
	Decide(ctx context.Context, project string, d mappingjob.Decision) (mappingjob.Item, error)
	ApproveWhere(ctx context.Context, project string, f mappingjob.Filter, d mappingjob.Decision) (int, error)
	Comment(ctx context.Context, project string, id int64, actor, comment string) (mappingjob.Event, error)
	History(ctx context.Context, project, kind string, id int64) ([]mappingjob.Event, error)
	Decisions(ctx context.Context, project string) ([]mappingjob.Event, error)
	Queue(ctx context.Context, project string, st mappingjob.ReviewState, after int64, limit int) ([]mappingjob.Item, error)
}

// Review is the concept-mapping review resource of the SDK's Review API
// doc (approve, reject, override, approve-all; served under /api/v1 and
// the doc's /v1), with bulk approval by filter, comments, the audit trail
// of concept and schema items, the review queues of the second-reviewer
// rule and the agreement report. Deciding needs CanDecide (members and
// above with a write credential); reading needs CanRead; another
// organization's project is 404.
type Review struct {
	Projects ProjectFinder
	Items    ReviewStore
	// Concepts resolves an override's concept in the vocabulary.
	Concepts ConceptReader
}

// Routes registers the review routes on /api/v1 and on the doc's /v1.
func (h *Review) Routes(r *Router) {
	for _, g := range []*Router{r.Group("/projects").Protected(), r.Legacy().Group("/projects").Protected()} {
		h.routes(g)
	}
}

func (h *Review) routes(g *Router) {
	tags := []string{"review"}
	item := func(extra map[int]openapi.Response) map[int]openapi.Response {
		out := map[int]openapi.Response{
			200: {Description: "The item as it now stands (final, awaiting a second reviewer, or flagged)", Schema: conceptItemSchema()},
			403: errResp("Viewer or read-scope credential"),
			404: errResp("No such project or mapping item (\"Concept mapping {mapping_id} not found in project {project_id}\")"),
			409: errResp("Stale revision, the second-reviewer rule (the same reviewer again), or a flagged item a non-admin decided"),
			422: {Description: "Invalid body: detail is a list of {loc, msg, type}", Schema: fieldErrorsSchema()},
		}
		for k, v := range extra {
			out[k] = v
		}
		return out
	}
	common := map[string]any{
		"comment":  openapi.Schema{"type": "string", "description": "Recorded in the item's audit trail"},
		"revision": openapi.Schema{"type": "integer", "description": "The revision the reviewer saw; a stale one is 409"},
	}
	withCommon := func(props map[string]any) map[string]any {
		for k, v := range common {
			props[k] = v
		}
		return props
	}
	rule := " Under the project's second-reviewer rule (`second_reviewer`: `all` for approvals and overrides, `overrides` for overrides) the first decision leaves the item pending with `review_state` `awaiting_second_review`; a different reviewer agreeing makes it final, disagreeing flags it (`review_state` `flagged`) until a project admin decides it. A rejection alone is final."
	g.Add(fiber.MethodPost, "/:pid/concept-mapping/:mid/approve", openapi.Operation{
		Summary: "Approve a concept mapping", Tags: tags,
		Description: "Accepts the item's target concept (its rank-1 candidate when it has none): `review_decision` approved, `method` auto. The body is optional." + rule,
		RequestBody: openapi.Schema{"type": "object", "additionalProperties": false, "properties": withCommon(map[string]any{})},
		Responses:   item(nil),
	}, h.decide(mappingjob.ReviewApproved))
	g.Add(fiber.MethodPost, "/:pid/concept-mapping/:mid/reject", openapi.Operation{
		Summary: "Reject a concept mapping", Tags: tags,
		Description: "Marks the code unmappable: the target fields are cleared, `method` unmapped, `review_decision` rejected. The body is optional.",
		RequestBody: openapi.Schema{"type": "object", "additionalProperties": false, "properties": withCommon(map[string]any{})},
		Responses:   item(nil),
	}, h.decide(mappingjob.ReviewRejected))
	g.Add(fiber.MethodPost, "/:pid/concept-mapping/:mid/override", openapi.Operation{
		Summary: "Override a concept mapping", Tags: tags,
		Description: "Maps the code to `target_concept_id`, resolved in the vocabulary (its name, vocabulary and domain come from there; an unknown concept is 422): `method` override, `review_decision` overridden." + rule,
		RequestBody: openapi.Schema{"type": "object", "additionalProperties": false, "required": []string{"target_concept_id"}, "properties": withCommon(map[string]any{
			"target_concept_id":    openapi.Schema{"type": "integer", "minimum": 1},
			"target_concept_name":  openapi.Schema{"type": "string"},
			"target_vocabulary_id": openapi.Schema{"type": "string"},
		})},
		Responses: item(nil),
	}, h.decide(mappingjob.ReviewOverridden))
	g.Add(fiber.MethodPost, "/:pid/concept-mapping/:mid/approve-all", openapi.Operation{
		Summary: "Approve every item of a concept mapping that needs review", Tags: tags,
		Description: "The SDK's `approve_all_review_items` (stage 3). `mapping_id` is the concept mapping's source: the `source_id` the SDK sent to `/concepts/map` (or a bulk mapping's source). Approves, with their target (the rank-1 candidate), the source's open items whose method is `review`; items already decided, awaiting a second reviewer or flagged are left alone. No body. A source without such items approves none.",
		Responses: map[int]openapi.Response{
			200: {Description: "How many items were approved", Schema: approvedSchema()},
			403: errResp("Viewer or read-scope credential"), 404: errResp("No such project"),
		},
	}, h.approveAll)
	g.Add(fiber.MethodPost, "/:pid/concept-mappings/approve", openapi.Operation{
		Summary: "Approve open concept mappings by filter", Tags: tags,
		Description: "Approves every open item (pending, not awaiting a second reviewer, not flagged, with a concept) matching all the given filters: inference `method` (auto, review, manual), confidence between `min_confidence` and `max_confidence` (inclusive), target `domain`. Each approval follows the second-reviewer rule and writes its audit row, with `comment`.",
		RequestBody: openapi.Schema{"type": "object", "additionalProperties": false, "properties": map[string]any{
			"method":         openapi.Schema{"type": "string", "enum": []string{"auto", "review", "manual"}},
			"min_confidence": openapi.Schema{"type": "number", "minimum": 0, "maximum": 1},
			"max_confidence": openapi.Schema{"type": "number", "minimum": 0, "maximum": 1},
			"domain":         openapi.Schema{"type": "string"},
			"comment":        openapi.Schema{"type": "string"},
		}},
		Responses: map[int]openapi.Response{
			200: {Description: "How many items were approved", Schema: approvedSchema()},
			403: errResp("Viewer or read-scope credential"), 404: errResp("No such project"), 422: errResp("Invalid body"),
		},
	}, h.approveWhere)
	g.Add(fiber.MethodPost, "/:pid/concept-mapping/:mid/comments", openapi.Operation{
		Summary: "Comment on a concept mapping", Tags: tags,
		Description: "Adds `comment` to the item's audit trail (action `comment`); the item does not change.",
		RequestBody: openapi.Schema{"type": "object", "additionalProperties": false, "required": []string{"comment"}, "properties": map[string]any{
			"comment": openapi.Schema{"type": "string", "minLength": 1},
		}},
		Responses: map[int]openapi.Response{
			201: {Description: "The audit row", Schema: eventSchema()},
			403: errResp("Viewer or read-scope credential"), 404: errResp("No such project or mapping item"),
			422: {Description: "Invalid body: detail is a list of {loc, msg, type}", Schema: fieldErrorsSchema()},
		},
	}, h.comment)
	history := func(kind, what string) openapi.Operation {
		return openapi.Operation{
			Summary: "The audit trail of a " + what, Tags: tags,
			Description: "Every action on the item, oldest first: who (`actor`: a user id, `key:<api key id>` or `operator`), when (`created_at`), `action` (approve, reject, override, comment, sync, ...), the item `before` and `after` it, and the `comment`. Readable by every member, viewers included.",
			Responses: map[int]openapi.Response{
				200: {Description: "The item's events", Schema: openapi.Schema{"type": "object", "properties": map[string]any{
					"item_kind": openapi.Schema{"type": "string", "enum": []string{kind}},
					"item_id":   openapi.Schema{"type": "string"},
					"events":    openapi.Schema{"type": "array", "items": eventSchema()}}}},
				404: errResp("No such project or item"),
			},
		}
	}
	g.Add(fiber.MethodGet, "/:pid/concept-mapping/:mid/history", history("concept", "concept mapping"), h.history(mappingjob.KindConcept))
	g.Add(fiber.MethodGet, "/:pid/schema-mapping/:mid/history", history("schema", "schema mapping"), h.history(mappingjob.KindSchema))
	g.Add(fiber.MethodGet, "/:pid/review/queue", openapi.Operation{
		Summary: "Items awaiting a second reviewer, or flagged", Tags: tags,
		Description: "`state=awaiting_second_review` (the default) lists the items whose first decision waits for a second, different reviewer; `state=flagged` the items whose two reviewers disagreed, for a project admin to resolve. " +
			"In id order, `limit` at a time (default 100, at most 1000); pass `next_cursor` back as `cursor` for the next page (null on the last).",
		Responses: map[int]openapi.Response{
			200: {Description: "The items", Schema: openapi.Schema{"type": "object", "properties": map[string]any{
				"state": openapi.Schema{"type": "string"}, "items": openapi.Schema{"type": "array", "items": conceptItemSchema()},
				"next_cursor": openapi.Schema{"type": "string", "nullable": true}}}},
			404: errResp("No such project"), 422: errResp("Unknown state, or a bad cursor or limit"),
		},
	}, h.queue)
	g.Add(fiber.MethodGet, "/:pid/review/agreement", openapi.Operation{
		Summary: "Agreement between the project's reviewers", Tags: tags,
		Description: "Cohen's kappa between reviewers over the items both decided (each reviewer's latest decision; labels `reject` or `accept:<concept id>`, adjudications left out): `kappa` pools every pair of reviewers on every item (null when undefined or when no item has two reviewers), `pairs` gives each pair's; counts of decisions and items, and the flagged items.",
		Responses: map[int]openapi.Response{
			200: {Description: "The agreement report", Schema: openapi.Schema{"type": "object"}},
			404: errResp("No such project"),
		},
	}, h.agreement)
}

func approvedSchema() openapi.Schema {
	return openapi.Schema{"type": "object", "required": []string{"approved"}, "properties": map[string]any{"approved": openapi.Schema{"type": "integer"}}}
}

func fieldErrorsSchema() openapi.Schema {
	return openapi.Schema{"type": "object", "required": []string{"detail"}, "properties": map[string]any{
		"detail": openapi.Schema{"type": "array", "items": openapi.Schema{"type": "object", "required": []string{"loc", "msg", "type"}, "properties": map[string]any{
			"loc": openapi.Schema{"type": "array", "items": openapi.Schema{"type": "string"}},
			"msg": openapi.Schema{"type": "string"}, "type": openapi.Schema{"type": "string"}}}}}}
}

func eventSchema() openapi.Schema {
	return openapi.Schema{"type": "object", "properties": map[string]any{
		"id": openapi.Schema{"type": "string"}, "actor": openapi.Schema{"type": "string"}, "action": openapi.Schema{"type": "string"},
		"before": openapi.Schema{"type": "object", "nullable": true}, "after": openapi.Schema{"type": "object", "nullable": true},
		"comment": openapi.Schema{"type": "string"}, "created_at": openapi.Schema{"type": "string", "format": "date-time"}}}
}

// actorOf names p in the audit trail and for the second-reviewer rule: the
// user behind the credential when there is one (so a user's keys and
// tokens are one reviewer), else the API key, else the operator.
func actorOf(p tenancy.Principal) string {
	switch {
	case p.UserID != "":
		return p.UserID
	case p.KeyID != "":
		return "key:" + p.KeyID
	}
	return "operator"
}

// itemNotFound is the doc's 404 for a mapping item.
func itemNotFound(kind, mid, pid string) error {
	what := "Concept"
	if kind == mappingjob.KindSchema {
		what = "Schema"
	}
	return &Error{Status: fiber.StatusNotFound, Detail: fmt.Sprintf("%s mapping %s not found in project %s", what, mid, pid)}
}

// itemID parses the mapping_id route parameter; anything but a positive
// integer names no item (404).
func itemID(c *fiber.Ctx, kind string) (int64, error) {
	id, err := strconv.ParseInt(c.Params("mid"), 10, 64)
	if err != nil || id <= 0 {
		return 0, itemNotFound(kind, c.Params("mid"), c.Params("pid"))
	}
	return id, nil
}

// decisionBody is the optional body of approve and reject, and override's
// with its target.
type decisionBody struct {
	TargetConceptID    *int64
	TargetConceptName  *string
	TargetVocabularyID *string
	Comment            *string
	Revision           *int64
}

func (h *Review) decide(review mappingjob.ReviewStatus) fiber.Handler {
	return func(c *fiber.Ctx) error {
		project, p, err := projectAccess(c, h.Projects, "pid", tenancy.Principal.CanDecide)
		if err != nil {
			return err
		}
		var b decisionBody
		fields := []reviewField{{name: "comment", str: &b.Comment}, {name: "revision", num: &b.Revision}}
		if review == mappingjob.ReviewOverridden {
			fields = append([]reviewField{
				{name: "target_concept_id", num: &b.TargetConceptID, required: true},
				{name: "target_concept_name", str: &b.TargetConceptName},
				{name: "target_vocabulary_id", str: &b.TargetVocabularyID},
			}, fields...)
		}
		if err := decodeReviewBody(c.Body(), fields); err != nil {
			return err
		}
		if b.Revision != nil && *b.Revision < 1 {
			return FieldErrors{{Loc: []string{"body", "revision"}, Msg: "ensure this value is greater than 0", Type: "value_error.number.not_gt"}}
		}
		id, err := itemID(c, mappingjob.KindConcept)
		if err != nil {
			return err
		}
		d := mappingjob.Decision{ItemID: id, Review: review, DecidedBy: p.UserID, Actor: actorOf(p), Comment: deref(b.Comment)}
		if b.Revision != nil {
			d.Revision = int(*b.Revision)
		}
		if review == mappingjob.ReviewOverridden {
			if err := h.resolveConcept(c.UserContext(), *b.TargetConceptID, &d); err != nil {
				return err
			}
		}
		d.SecondReview = mappingjob.SecondReviewRule(string(project.Settings.SecondReviewer), mappingjob.ActionOf(review))
		d.Adjudication = p.Operator || p.CanAdminProject(project.ID) == nil
		it, err := h.Items.Decide(c.UserContext(), project.ID, d)
		if err != nil {
			return reviewError(err, mappingjob.KindConcept, c)
		}
		return c.JSON(conceptItemOf(it))
	}
}

// resolveConcept fills d's override target from the vocabulary; an
// unknown concept is a 422 on target_concept_id.
func (h *Review) resolveConcept(ctx context.Context, id int64, d *mappingjob.Decision) error {
	loc := []string{"body", "target_concept_id"}
	if id < 1 || id > 1<<31-1 {
		return FieldErrors{{Loc: loc, Msg: "ensure this value is a concept id (1 to 2147483647)", Type: "value_error.number.not_in_range"}}
	}
	cd, err := h.Concepts.Concept(ctx, int32(id))
	if errors.Is(err, vocab.ErrNotFound) {
		return FieldErrors{{Loc: loc, Msg: fmt.Sprintf("concept %d is not in the vocabulary", id), Type: "value_error.concept.unknown"}}
	}
	if err != nil {
		return err
	}
	d.ConceptID, d.ConceptName, d.VocabularyID, d.DomainID = cd.ID, cd.Name, cd.VocabularyID, cd.DomainID
	return nil
}

// reviewError gives the doc's shapes to a store's errors: an unknown item
// is the doc's 404, a decision that does not fit the item a 422 list.
func reviewError(err error, kind string, c *fiber.Ctx) error {
	switch {
	case errors.Is(err, mappingjob.ErrNotFound):
		return itemNotFound(kind, c.Params("mid"), c.Params("pid"))
	case errors.Is(err, mappingjob.ErrInvalid):
		return FieldErrors{{Loc: []string{"path", "mapping_id"}, Msg: err.Error(), Type: "value_error"}}
	}
	return err
}

func (h *Review) approveAll(c *fiber.Ctx) error {
	project, p, err := projectAccess(c, h.Projects, "pid", tenancy.Principal.CanDecide)
	if err != nil {
		return err
	}
	var body struct {
		Comment string `json:"comment"`
	}
	if err := decodeJSON(c, &body, Strict, true); err != nil {
		return err
	}
	// A source id may be a file path (the SDK's stage 3 sends one), sent
	// percent-encoded.
	source, err := url.PathUnescape(c.Params("mid"))
	if err != nil {
		source = c.Params("mid")
	}
	return h.approve(c, project, p, mappingjob.Filter{Source: source, Method: mappingjob.MethodReview}, body.Comment)
}

func (h *Review) approveWhere(c *fiber.Ctx) error {
	project, p, err := projectAccess(c, h.Projects, "pid", tenancy.Principal.CanDecide)
	if err != nil {
		return err
	}
	var body struct {
		Method        string   `json:"method"`
		MinConfidence *float64 `json:"min_confidence"`
		MaxConfidence *float64 `json:"max_confidence"`
		Domain        string   `json:"domain"`
		Comment       string   `json:"comment"`
	}
	if err := decodeJSON(c, &body, Strict, false); err != nil {
		return err
	}
	switch mappingjob.Method(body.Method) {
	case "", mappingjob.MethodAuto, mappingjob.MethodReview, mappingjob.MethodManual:
	default:
		return &Error{Status: fiber.StatusUnprocessableEntity, Detail: fmt.Sprintf("method %q: want auto, review or manual", body.Method)}
	}
	for name, v := range map[string]*float64{"min_confidence": body.MinConfidence, "max_confidence": body.MaxConfidence} {
		if v != nil && (*v < 0 || *v > 1) {
			return &Error{Status: fiber.StatusUnprocessableEntity, Detail: name + " must be between 0 and 1"}
		}
	}
	if body.MinConfidence != nil && body.MaxConfidence != nil && *body.MinConfidence > *body.MaxConfidence {
		return &Error{Status: fiber.StatusUnprocessableEntity, Detail: "min_confidence is above max_confidence"}
	}
	f := mappingjob.Filter{Method: mappingjob.Method(body.Method), MinConfidence: body.MinConfidence, MaxConfidence: body.MaxConfidence, Domain: body.Domain}
	return h.approve(c, project, p, f, body.Comment)
}

func (h *Review) approve(c *fiber.Ctx, project tenancy.Project, p tenancy.Principal, f mappingjob.Filter, comment string) error {
	d := mappingjob.Decision{Review: mappingjob.ReviewApproved, DecidedBy: p.UserID, Actor: actorOf(p), Comment: comment,
		SecondReview: mappingjob.SecondReviewRule(string(project.Settings.SecondReviewer), mappingjob.ActionApprove)}
	n, err := h.Items.ApproveWhere(c.UserContext(), project.ID, f, d)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"approved": n})
}

func (h *Review) comment(c *fiber.Ctx) error {
	project, p, err := projectAccess(c, h.Projects, "pid", tenancy.Principal.CanDecide)
	if err != nil {
		return err
	}
	var text *string
	if err := decodeReviewBody(c.Body(), []reviewField{{name: "comment", str: &text, required: true}}); err != nil {
		return err
	}
	if *text == "" {
		return FieldErrors{{Loc: []string{"body", "comment"}, Msg: "ensure this value has at least 1 characters", Type: "value_error.any_str.min_length"}}
	}
	id, err := itemID(c, mappingjob.KindConcept)
	if err != nil {
		return err
	}
	e, err := h.Items.Comment(c.UserContext(), project.ID, id, actorOf(p), *text)
	if err != nil {
		return reviewError(err, mappingjob.KindConcept, c)
	}
	return c.Status(fiber.StatusCreated).JSON(eventOf(e))
}

// eventDTO is one audit row.
type eventDTO struct {
	ID        string          `json:"id"`
	Actor     string          `json:"actor"`
	Action    string          `json:"action"`
	Before    json.RawMessage `json:"before"`
	After     json.RawMessage `json:"after"`
	Comment   string          `json:"comment"`
	CreatedAt time.Time       `json:"created_at"`
}

func eventOf(e mappingjob.Event) eventDTO {
	d := eventDTO{ID: strconv.FormatInt(e.ID, 10), Actor: e.Actor, Action: e.Action, Before: e.Before, After: e.After, Comment: e.Comment, CreatedAt: e.At}
	if len(d.Before) == 0 {
		d.Before = json.RawMessage("null")
	}
	if len(d.After) == 0 {
		d.After = json.RawMessage("null")
	}
	return d
}

// history answers an item's audit trail. A concept item must exist; a
// schema item is known by its trail (every schema item has one from its
// first push on), so an empty trail is the doc's 404.
func (h *Review) history(kind string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		project, _, err := projectAccess(c, h.Projects, "pid", tenancy.Principal.CanRead)
		if err != nil {
			return err
		}
		id, err := itemID(c, kind)
		if err != nil {
			return err
		}
		if kind == mappingjob.KindConcept {
			if _, err := h.Items.ItemByID(c.UserContext(), project.ID, id); err != nil {
				return reviewError(err, kind, c)
			}
		}
		events, err := h.Items.History(c.UserContext(), project.ID, kind, id)
		if err != nil {
			return err
		}
		if len(events) == 0 && kind == mappingjob.KindSchema {
			return itemNotFound(kind, c.Params("mid"), c.Params("pid"))
		}
		out := make([]eventDTO, len(events))
		for i, e := range events {
			out[i] = eventOf(e)
		}
		return c.JSON(fiber.Map{"item_kind": kind, "item_id": strconv.FormatInt(id, 10), "events": out})
	}
}

func (h *Review) queue(c *fiber.Ctx) error {
	project, _, err := projectAccess(c, h.Projects, "pid", tenancy.Principal.CanRead)
	if err != nil {
		return err
	}
	st := mappingjob.ReviewState(c.Query("state", string(mappingjob.StateAwaitingSecond)))
	if st != mappingjob.StateAwaitingSecond && st != mappingjob.StateFlagged {
		return &Error{Status: fiber.StatusUnprocessableEntity, Detail: fmt.Sprintf("state %q: want awaiting_second_review or flagged", st)}
	}
	after, limit, err := pageOf(c)
	if err != nil {
		return err
	}
	items, err := h.Items.Queue(c.UserContext(), project.ID, st, after, limit+1)
	if err != nil {
		return err
	}
	page := pageOfItems(items, limit)
	return c.JSON(fiber.Map{"state": st, "items": page.Items, "next_cursor": page.NextCursor})
}

// pairDTO is the agreement of two reviewers.
type pairDTO struct {
	ReviewerA string   `json:"reviewer_a"`
	ReviewerB string   `json:"reviewer_b"`
	Items     int      `json:"items"`
	Observed  float64  `json:"observed_agreement"`
	Expected  float64  `json:"expected_agreement"`
	Kappa     *float64 `json:"kappa"`
}

func (h *Review) agreement(c *fiber.Ctx) error {
	project, _, err := projectAccess(c, h.Projects, "pid", tenancy.Principal.CanRead)
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	events, err := h.Items.Decisions(ctx, project.ID)
	if err != nil {
		return err
	}
	flagged, err := h.Items.Queue(ctx, project.ID, mappingjob.StateFlagged, 0, 0)
	if err != nil {
		return err
	}
	awaiting, err := h.Items.Queue(ctx, project.ID, mappingjob.StateAwaitingSecond, 0, 0)
	if err != nil {
		return err
	}
	ratings := mappingjob.Ratings(events)
	pairs := []pairDTO{}
	for _, p := range agreement.ProjectAgreement(ratings) {
		d := pairDTO{ReviewerA: p.ReviewerA, ReviewerB: p.ReviewerB, Items: p.Items, Observed: p.Observed, Expected: p.Expected}
		if !p.Undefined {
			k := p.Kappa
			d.Kappa = &k
		}
		pairs = append(pairs, d)
	}
	// Pool every pair of reviewers on every item into one kappa: with two
	// reviewers it is their pair's; with more it weighs each shared item.
	byItem := map[string]map[string]string{}
	reviewers := map[string]bool{}
	for _, r := range ratings {
		if byItem[r.Item] == nil {
			byItem[r.Item] = map[string]string{}
		}
		byItem[r.Item][r.Reviewer] = r.Label
		reviewers[r.Reviewer] = true
	}
	var a, b []string
	agreed, disagreed, double := 0, 0, 0
	for _, labels := range byItem {
		names := make([]string, 0, len(labels))
		for n := range labels {
			names = append(names, n)
		}
		sort.Strings(names)
		if len(names) < 2 {
			continue
		}
		double++
		same := true
		for i, x := range names {
			for _, y := range names[i+1:] {
				a, b = append(a, labels[x]), append(b, labels[y])
				same = same && labels[x] == labels[y]
			}
		}
		if same {
			agreed++
		} else {
			disagreed++
		}
	}
	var kappa *float64
	var observed *float64
	if res, err := agreement.Kappa(a, b); err == nil {
		kappa, observed = &res.Kappa, &res.Observed
	} else if errors.Is(err, agreement.ErrKappaUndefined) {
		observed = &res.Observed
	}
	fl := make([]conceptItem, len(flagged))
	for i, it := range flagged {
		fl[i] = conceptItemOf(it)
	}
	rule := string(project.Settings.SecondReviewer)
	if rule == "" {
		rule = string(tenancy.SecondReviewerNone)
	}
	return c.JSON(fiber.Map{
		"project_id": project.ID, "second_reviewer": rule,
		"kappa": kappa, "observed_agreement": observed, "pairs": pairs,
		"counts": fiber.Map{
			"decisions": len(events), "reviewers": len(reviewers), "items_reviewed": len(byItem),
			"items_with_two_reviewers": double, "agreed": agreed, "disagreed": disagreed,
			"awaiting_second_review": len(awaiting), "flagged": len(flagged),
		},
		"flagged": fl,
	})
}

// reviewField is one field of a review body: a JSON number into num or a
// string into str.
type reviewField struct {
	name     string
	num      **int64
	str      **string
	required bool
}

// decodeReviewBody decodes a review route's JSON object body strictly,
// answering every problem at once as the doc's 422 list: a missing
// required field (value_error.missing), an unknown one
// (value_error.extra), a wrong type (type_error.integer, type_error.str).
// null leaves a field unset. An empty body is an empty object.
func decodeReviewBody(body []byte, fields []reviewField) error {
	var obj map[string]json.RawMessage
	if len(bytes.TrimSpace(body)) > 0 {
		if err := json.Unmarshal(body, &obj); err != nil || obj == nil {
			return FieldErrors{{Loc: []string{"body"}, Msg: "value is not a valid dict (send a JSON object)", Type: "type_error.dict"}}
		}
	}
	var errs FieldErrors
	known := map[string]bool{}
	for _, f := range fields {
		known[f.name] = true
		raw, ok := obj[f.name]
		loc := []string{"body", f.name}
		if !ok || string(raw) == "null" {
			if f.required {
				errs = append(errs, FieldError{Loc: loc, Msg: "field required", Type: "value_error.missing"})
			}
			continue
		}
		switch {
		case f.num != nil:
			var n int64
			if err := json.Unmarshal(raw, &n); err != nil {
				errs = append(errs, FieldError{Loc: loc, Msg: "value is not a valid integer", Type: "type_error.integer"})
				continue
			}
			*f.num = &n
		case f.str != nil:
			var s string
			if err := json.Unmarshal(raw, &s); err != nil {
				errs = append(errs, FieldError{Loc: loc, Msg: "str type expected", Type: "type_error.str"})
				continue
			}
			*f.str = &s
		}
	}
	var extra []string
	for k := range obj {
		if !known[k] {
			extra = append(extra, k)
		}
	}
	sort.Strings(extra)
	for _, k := range extra {
		errs = append(errs, FieldError{Loc: []string{"body", k}, Msg: "extra fields not permitted", Type: "value_error.extra"})
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}
