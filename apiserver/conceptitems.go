package apiserver

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/portiere/portiere/apiserver/openapi"
	"github.com/portiere/portiere/mappingjob"
	"github.com/portiere/portiere/tenancy"
)

// ConceptItemStore reads and syncs a project's concept mapping items;
// mappingjobstore.Store is one.
type ConceptItemStore interface {
	mappingjob.ItemLister
	mappingjob.Syncer
}

// ConceptItems is a project's concept mapping items as the results API
// and the SDK's sync read and write them:
//
//   - GET  /projects/{id}/concept-mappings: filtered, keyset-paginated
//     results (CanRead);
//   - GET  /sync/projects/{id}/concept-mappings: every item, for
//     SyncManager.pull and CloudStorageBackend (CanRead), also served as
//     GET /concepts/projects/{id}/concept-mapping for ETLRunner.from_cloud;
//   - POST /sync/projects/{id}/concept-mappings/bulk: the SDK's push
//     (CanWrite), idempotent by (project, source column, source code).
type ConceptItems struct {
	Projects ProjectFinder
	Items    ConceptItemStore
}

// Listing limits of GET /projects/{id}/concept-mappings.
const (
	defaultItemsLimit = 100
	maxItemsLimit     = 1000
	// pullPage is how many items a pull reads at a time.
	pullPage = maxItemsLimit
)

// Routes registers the routes on r's protected group.
func (h *ConceptItems) Routes(r *Router) {
	r.Schema("ConceptItem", conceptItemSchema())
	items := openapi.Schema{"type": "array", "items": openapi.Ref("ConceptItem")}
	g := r.Protected()
	g.Add(fiber.MethodGet, "/projects/:id/concept-mappings", openapi.Operation{
		Summary: "List a project's concept mapping items",
		Description: "Query parameters, all optional: `status` (review decision: pending, approved, rejected, overridden), " +
			"`method` (auto, review, manual, override, unmapped, crowd) — both take comma-separated lists —, `min_confidence` and `max_confidence` " +
			"(inclusive, 0..1), `domain` (the target's domain_id, case-insensitive), `q` (found in the source code or description, case-insensitive), " +
			"`cursor` and `limit` (default 100, at most 1000). Items come in id order; pass `next_cursor` back as `cursor` for the next page " +
			"(null on the last). An invalid parameter is a 422 naming it. Any member of the project's organization may read.",
		Tags: []string{"concepts"},
		Responses: map[int]openapi.Response{
			200: {Description: "A page of items", Schema: openapi.Schema{"type": "object", "properties": map[string]any{
				"items": items, "next_cursor": openapi.Schema{"type": "string", "nullable": true}}}},
			403: errResp("Not allowed to read the project"),
			404: errResp("No such project"),
			422: errResp("Invalid query parameter (the detail names it)"),
		},
	}, h.list)

	pull := openapi.Operation{
		Summary: "Every concept mapping item of a project (SDK pull)",
		Description: "Each item carries the 14 keys of the SDK's ConceptMappingItem as pushed, plus the server's `id`, `revision` and review metadata. " +
			"Any member of the project's organization may read.",
		Tags: []string{"sync"},
		Responses: map[int]openapi.Response{
			200: {Description: "All items, in id order", Schema: openapi.Schema{"type": "object", "properties": map[string]any{"items": items}}},
			403: errResp("Not allowed to read the project"),
			404: errResp("No such project"),
		},
	}
	g.Add(fiber.MethodGet, "/sync/projects/:id/concept-mappings", pull, h.pull)
	alias := pull
	alias.Summary = "Every concept mapping item of a project (ETLRunner.from_cloud)"
	alias.Tags = []string{"concepts"}
	g.Add(fiber.MethodGet, "/concepts/projects/:id/concept-mapping", alias, h.pull)

	g.Add(fiber.MethodPost, "/sync/projects/:id/concept-mappings/bulk", openapi.Operation{
		Summary: "Push concept mapping items (SDK sync)",
		Description: "Items are the SDK's ConceptMappingItem (`source_code` a string or number; every other key optional or null). " +
			"An item is identified by (project, source_column, source_code): a new one is created, a changed one updated (its revision grows, " +
			"a `sync` audit event is written), an identical one left alone, so pushing the same items twice changes nothing. " +
			"An item carrying a `revision` other than the stored one is a 409 naming it, and nothing of the push is written. " +
			"Needs a write credential of a member, admin or owner.",
		Tags: []string{"sync"},
		RequestBody: openapi.Schema{"type": "object", "required": []string{"items"}, "properties": map[string]any{
			"items": openapi.Schema{"type": "array", "items": openapi.Ref("ConceptItem")}}},
		Responses: map[int]openapi.Response{
			200: {Description: "What the push did", Schema: openapi.Schema{"type": "object", "properties": map[string]any{
				"created": openapi.Schema{"type": "integer"}, "updated": openapi.Schema{"type": "integer"}, "unchanged": openapi.Schema{"type": "integer"}}}},
			403: errResp("Read-scope key, viewer, or a key of another project"),
			404: errResp("No such project"),
			409: errResp("An item's revision is stale; nothing was written"),
			422: errResp("Invalid body (the detail names the item and field)"),
		},
	}, h.push)
}

// readProject checks the caller may read the route's project.
func (h *ConceptItems) readProject(c *fiber.Ctx) (string, error) {
	project, _, err := projectAccess(c, h.Projects, "id", tenancy.Principal.CanRead)
	if err != nil {
		return "", err
	}
	return project.ID, nil
}

func badParam(name, format string, args ...any) error {
	return &Error{Status: fiber.StatusUnprocessableEntity, Detail: name + ": " + fmt.Sprintf(format, args...)}
}

// itemFilterOf validates the listing's query parameters.
func itemFilterOf(c *fiber.Ctx) (f mappingjob.ItemFilter, after int64, limit int, err error) {
	list := func(name string) []string {
		var out []string
		for _, v := range strings.Split(c.Query(name), ",") {
			if v = strings.TrimSpace(v); v != "" {
				out = append(out, strings.ToLower(v))
			}
		}
		return out
	}
	for _, s := range list("status") {
		switch r := mappingjob.ReviewStatus(s); r {
		case mappingjob.ReviewPending, mappingjob.ReviewApproved, mappingjob.ReviewRejected, mappingjob.ReviewOverridden:
			f.Reviews = append(f.Reviews, r)
		default:
			return f, 0, 0, badParam("status", "%q is not one of pending, approved, rejected, overridden", s)
		}
	}
	for _, s := range list("method") {
		switch m := mappingjob.Method(s); m {
		case mappingjob.MethodAuto, mappingjob.MethodReview, mappingjob.MethodManual, mappingjob.MethodOverride, mappingjob.MethodUnmapped, mappingjob.MethodCrowd:
			f.Methods = append(f.Methods, m)
		default:
			return f, 0, 0, badParam("method", "%q is not one of auto, review, manual, override, unmapped, crowd", s)
		}
	}
	bound := func(name string) (*float64, error) {
		v := strings.TrimSpace(c.Query(name))
		if v == "" {
			return nil, nil
		}
		x, err := strconv.ParseFloat(v, 64)
		if err != nil || x < 0 || x > 1 {
			return nil, badParam(name, "%q is not a number between 0 and 1", v)
		}
		return &x, nil
	}
	if f.MinConfidence, err = bound("min_confidence"); err != nil {
		return f, 0, 0, err
	}
	if f.MaxConfidence, err = bound("max_confidence"); err != nil {
		return f, 0, 0, err
	}
	if f.MinConfidence != nil && f.MaxConfidence != nil && *f.MinConfidence > *f.MaxConfidence {
		return f, 0, 0, badParam("min_confidence", "%g is above max_confidence %g", *f.MinConfidence, *f.MaxConfidence)
	}
	f.Domain = strings.TrimSpace(c.Query("domain"))
	f.Text = strings.TrimSpace(c.Query("q"))
	if len(f.Text) > MaxQueryBytes {
		return f, 0, 0, badParam("q", "is %d bytes long, over the limit of %d bytes", len(f.Text), MaxQueryBytes)
	}
	after, limit, err = pageOf(c)
	return f, after, limit, err
}

// pageOf validates an item listing's `cursor` (the id after which the page
// starts) and `limit` (defaultItemsLimit, at most maxItemsLimit).
func pageOf(c *fiber.Ctx) (after int64, limit int, err error) {
	if v := c.Query("cursor"); v != "" {
		if after, err = strconv.ParseInt(v, 10, 64); err != nil || after < 0 {
			return 0, 0, badParam("cursor", "%q is not a cursor this listing returned", v)
		}
	}
	limit = defaultItemsLimit
	if v := c.Query("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > maxItemsLimit {
			return 0, 0, badParam("limit", "%q is not an integer between 1 and %d", v, maxItemsLimit)
		}
	}
	return after, limit, nil
}

type itemPage struct {
	Items      []conceptItem `json:"items"`
	NextCursor *string       `json:"next_cursor"`
}

func (h *ConceptItems) list(c *fiber.Ctx) error {
	project, err := h.readProject(c)
	if err != nil {
		return err
	}
	f, after, limit, err := itemFilterOf(c)
	if err != nil {
		return err
	}
	// One more than asked tells whether another page exists.
	items, err := h.Items.ListItems(c.UserContext(), project, f, after, limit+1)
	if err != nil {
		return err
	}
	return c.JSON(pageOfItems(items, limit))
}

// pageOfItems is the answer for items read with limit+1: at most limit of
// them, and the cursor of the next page when there was one more.
func pageOfItems(items []mappingjob.Item, limit int) itemPage {
	page := itemPage{Items: make([]conceptItem, 0, min(len(items), limit))}
	if len(items) > limit {
		items = items[:limit]
		next := strconv.FormatInt(items[len(items)-1].ID, 10)
		page.NextCursor = &next
	}
	for _, it := range items {
		page.Items = append(page.Items, conceptItemOf(it))
	}
	return page
}

// pullTimeout bounds the streaming of one pull after its first page.
const pullTimeout = 10 * time.Minute

// pull answers {"items": [...]} with every item of the project. A large
// project is streamed a page at a time, so memory stays at one page: the
// first page is read before the status is sent (so a failing database is
// still a proper error); a failure later cuts the body short, which the
// client sees as truncated JSON.
func (h *ConceptItems) pull(c *fiber.Ctx) error {
	project, err := h.readProject(c)
	if err != nil {
		return err
	}
	first, err := h.Items.ListItems(c.UserContext(), project, mappingjob.ItemFilter{}, 0, pullPage)
	if err != nil {
		return err
	}
	if len(first) < pullPage {
		items := make([]conceptItem, len(first))
		for i, it := range first {
			items[i] = conceptItemOf(it)
		}
		return c.JSON(fiber.Map{"items": items})
	}
	store := h.Items
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	// The stream runs after the handler returns: it must not touch c.
	c.Context().SetBodyStreamWriter(func(w *bufio.Writer) {
		ctx, cancel := context.WithTimeout(context.Background(), pullTimeout)
		defer cancel()
		enc := json.NewEncoder(w)
		w.WriteString(`{"items":[`)
		page, n := first, 0
		for {
			for _, it := range page {
				if n > 0 {
					w.WriteByte(',')
				}
				if enc.Encode(conceptItemOf(it)) != nil {
					return
				}
				n++
			}
			if len(page) < pullPage {
				break
			}
			var err error
			if page, err = store.ListItems(ctx, project, mappingjob.ItemFilter{}, page[len(page)-1].ID, pullPage); err != nil {
				return // the body ends without its closing brackets
			}
			if w.Flush() != nil {
				return
			}
		}
		w.WriteString(`]}`)
		w.Flush()
	})
	return nil
}

// pushItem is one ConceptMappingItem of a push, every key optional but
// source_code (the SDK sends them all, null when unset).
type pushItem struct {
	SourceCode         rawCode                `json:"source_code"`
	SourceDescription  *string                `json:"source_description"`
	SourceColumn       *string                `json:"source_column"`
	SourceCount        *int64                 `json:"source_count"`
	TargetConceptID    *int32                 `json:"target_concept_id"`
	TargetConceptName  *string                `json:"target_concept_name"`
	TargetVocabularyID *string                `json:"target_vocabulary_id"`
	TargetDomainID     *string                `json:"target_domain_id"`
	Confidence         *float64               `json:"confidence"`
	Method             *string                `json:"method"`
	InferenceMethod    *string                `json:"inference_method"`
	ReviewDecision     *string                `json:"review_decision"`
	Candidates         []mappingjob.Candidate `json:"candidates"`
	Provenance         mappingjob.Provenance  `json:"provenance"`
	Revision           *int                   `json:"revision"`
}

// rawCode keeps a code's JSON as sent; codeText reads it.
type rawCode []byte

func (r *rawCode) UnmarshalJSON(b []byte) error {
	*r = append((*r)[:0], b...)
	return nil
}

func methodValue(s string) (mappingjob.Method, bool) {
	switch m := mappingjob.Method(s); m {
	case mappingjob.MethodAuto, mappingjob.MethodReview, mappingjob.MethodManual, mappingjob.MethodOverride, mappingjob.MethodUnmapped:
		return m, true
	}
	return "", false
}

// item validates in (item i of a push) into a mappingjob.Item, with the
// SDK's defaults: source_count 1, method review, inference_method the
// method, review_decision null (ReviewUnset).
func (in pushItem) item(i int) (mappingjob.Item, error) {
	bad := func(field, format string, args ...any) error {
		return &Error{Status: fiber.StatusUnprocessableEntity, Detail: fmt.Sprintf("items[%d].%s: ", i, field) + fmt.Sprintf(format, args...)}
	}
	code, ok := codeText([]byte(in.SourceCode))
	if !ok {
		return mappingjob.Item{}, bad("source_code", "required, a non-empty string or a number")
	}
	it := mappingjob.Item{
		Code: code, Description: deref(in.SourceDescription), SourceColumn: deref(in.SourceColumn), SourceCount: 1,
		TargetName: deref(in.TargetConceptName), TargetVocabulary: deref(in.TargetVocabularyID), TargetDomain: deref(in.TargetDomainID),
		Method: mappingjob.MethodReview, Candidates: in.Candidates, Provenance: in.Provenance,
	}
	if in.SourceCount != nil {
		if *in.SourceCount < 0 {
			return it, bad("source_count", "must not be negative")
		}
		it.SourceCount = *in.SourceCount
	}
	if in.TargetConceptID != nil {
		if *in.TargetConceptID < 0 {
			return it, bad("target_concept_id", "must not be negative")
		}
		it.ConceptID = *in.TargetConceptID
	}
	if in.Confidence != nil {
		if *in.Confidence < 0 || *in.Confidence > 1 {
			return it, bad("confidence", "must be between 0 and 1")
		}
		it.Confidence = *in.Confidence
	}
	if in.Method != nil {
		if it.Method, ok = methodValue(*in.Method); !ok {
			return it, bad("method", "%q is not one of auto, review, manual, override, unmapped", *in.Method)
		}
	}
	it.InferenceMethod = it.Method
	if in.InferenceMethod != nil {
		if it.InferenceMethod, ok = methodValue(*in.InferenceMethod); !ok {
			return it, bad("inference_method", "%q is not one of auto, review, manual, override, unmapped", *in.InferenceMethod)
		}
	}
	if in.ReviewDecision != nil {
		switch r := mappingjob.ReviewStatus(*in.ReviewDecision); r {
		case mappingjob.ReviewPending, mappingjob.ReviewApproved, mappingjob.ReviewRejected, mappingjob.ReviewOverridden:
			it.Review = r
		default:
			return it, bad("review_decision", "%q is not one of pending, approved, rejected, overridden or null", *in.ReviewDecision)
		}
	}
	for j, cand := range in.Candidates {
		if cand.ConceptID <= 0 {
			return it, bad(fmt.Sprintf("candidates[%d].concept_id", j), "required, a positive integer")
		}
	}
	if in.Revision != nil {
		if *in.Revision < 1 {
			return it, bad("revision", "must be a revision this server returned (1 or more)")
		}
		it.Revision = *in.Revision
	}
	return it, nil
}

func (h *ConceptItems) push(c *fiber.Ctx) error {
	project, p, err := projectAccess(c, h.Projects, "id", tenancy.Principal.CanWrite)
	if err != nil {
		return err
	}
	items, err := decodePushItems(c, "items is required: an array of concept mapping items ([] for none)", pushItem.item)
	if err != nil {
		return err
	}
	by := mappingjob.SyncActor{Actor: "operator", UserID: p.UserID}
	switch {
	case p.UserID != "":
		by.Actor = p.UserID
	case p.KeyID != "":
		by.Actor = p.KeyID
	}
	res, err := h.Items.SyncItems(c.UserContext(), project.ID, by, items)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"created": res.Created, "updated": res.Updated, "unchanged": res.Unchanged})
}
