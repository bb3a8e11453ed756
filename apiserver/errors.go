package apiserver

import (
	"errors"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/portiere/portiere/billing"
	"github.com/portiere/portiere/credential"
	"github.com/portiere/portiere/crossmap"
	"github.com/portiere/portiere/crowd"
	"github.com/portiere/portiere/mappingjob"
	"github.com/portiere/portiere/platform/postgres"
	"github.com/portiere/portiere/schemamap"
	"github.com/portiere/portiere/search"
	"github.com/portiere/portiere/sourcefile"
	"github.com/portiere/portiere/tenancy"
	"github.com/portiere/portiere/vocab"
	"github.com/portiere/portiere/workflows"
)

// Error is an error with an HTTP status whose message is safe to show.
// Handlers return it for request validation; domain errors are mapped by
// kind in statusOf instead.
type Error struct {
	Status int
	Detail string
}

func (e *Error) Error() string { return e.Detail }

// errorKinds maps the domain packages' sentinel errors to a status by kind:
// not found 404, invalid 422, conflict 409, forbidden 403, too large 413,
// unavailable 503.
// This is the one place a domain error becomes a status; a new domain
// package adds its sentinels here.
var errorKinds = []struct {
	err    error
	status int
}{
	{credential.ErrUnauthenticated, fiber.StatusUnauthorized},
	{credential.ErrForbidden, fiber.StatusForbidden},
	{tenancy.ErrNotFound, fiber.StatusNotFound},
	{billing.ErrNotFound, fiber.StatusNotFound},
	{billing.ErrInvalid, fiber.StatusUnprocessableEntity},
	{billing.ErrBadSignature, fiber.StatusBadRequest},
	{billing.ErrNotConfigured, fiber.StatusServiceUnavailable},
	{mappingjob.ErrNotFound, fiber.StatusNotFound},
	{mappingjob.ErrInvalid, fiber.StatusUnprocessableEntity},
	{mappingjob.ErrConflict, fiber.StatusConflict},
	{mappingjob.ErrSameReviewer, fiber.StatusConflict},
	{vocab.ErrNotFound, fiber.StatusNotFound},
	{workflows.ErrNotFound, fiber.StatusNotFound},
	{schemamap.ErrNotFound, fiber.StatusNotFound},
	{crossmap.ErrNotFound, fiber.StatusNotFound},
	{schemamap.ErrInvalid, fiber.StatusUnprocessableEntity},
	{schemamap.ErrUnsupportedModel, fiber.StatusUnprocessableEntity},
	{crossmap.ErrInvalid, fiber.StatusUnprocessableEntity},
	{schemamap.ErrConflict, fiber.StatusConflict},
	{crossmap.ErrConflict, fiber.StatusConflict},
	{tenancy.ErrInvalid, fiber.StatusUnprocessableEntity},
	{search.ErrEmptyQuery, fiber.StatusUnprocessableEntity},
	{tenancy.ErrConflict, fiber.StatusConflict},
	{mappingjob.ErrSourceExists, fiber.StatusConflict},
	{sourcefile.ErrTooLarge, fiber.StatusRequestEntityTooLarge},
	{sourcefile.ErrEmpty, fiber.StatusUnprocessableEntity},
	{sourcefile.ErrEncoding, fiber.StatusUnprocessableEntity},
	{sourcefile.ErrMissingColumn, fiber.StatusUnprocessableEntity},
	{sourcefile.ErrMalformed, fiber.StatusUnprocessableEntity},
	{mappingjob.ErrConflict, fiber.StatusConflict},
	{mappingjob.ErrInvalid, fiber.StatusUnprocessableEntity},
	{tenancy.ErrForbidden, fiber.StatusForbidden},
	{crowd.ErrNotFound, fiber.StatusNotFound},
	{crowd.ErrInvalid, fiber.StatusUnprocessableEntity},
	{crowd.ErrForbidden, fiber.StatusForbidden},
	{crowd.ErrAlreadyVoted, fiber.StatusConflict},
	{crowd.ErrClosed, fiber.StatusConflict},
	{search.ErrNotReady, fiber.StatusServiceUnavailable},
	{search.ErrLexicalUnavailable, fiber.StatusServiceUnavailable},
	{workflows.ErrUnavailable, fiber.StatusServiceUnavailable},
}

// statusOf returns the status and the message to show for err; internal is
// true when err is unexpected and must be logged and hidden.
func statusOf(err error) (status int, detail string, internal bool) {
	var ae *Error
	var fe *fiber.Error
	var de *credential.DeniedError
	switch {
	case errors.As(err, &de):
		if errors.Is(de.Kind, credential.ErrForbidden) {
			return fiber.StatusForbidden, de.Detail, false
		}
		return fiber.StatusUnauthorized, de.Detail, false
	case errors.As(err, &ae):
		return ae.Status, ae.Detail, false
	case errors.As(err, &fe):
		return fe.Code, fe.Message, false
	case postgres.IsNULText(err):
		return fiber.StatusUnprocessableEntity, "text may not contain the NUL character (\\u0000)", false
	}
	for _, k := range errorKinds {
		if errors.Is(err, k.err) {
			if k.status == fiber.StatusServiceUnavailable {
				// Unavailable backends are logged; their errors can name
				// hosts, so the client sees the sentinel's text only.
				return k.status, k.err.Error(), true
			}
			return k.status, err.Error(), false
		}
	}
	return fiber.StatusInternalServerError, "internal server error", true
}

// FieldError is one entry of a 422 whose detail is a list, the shape the
// SDK's Review API doc (FastAPI's validation errors) shows: where (loc,
// e.g. ["body", "target_concept_id"]), what (msg) and its kind (type, e.g.
// "value_error.missing").
type FieldError struct {
	Loc  []string `json:"loc"`
	Msg  string   `json:"msg"`
	Type string   `json:"type"`
}

// FieldErrors is a 422 answered as {"detail": [FieldError, ...]}; the
// review routes answer their validation errors so.
type FieldErrors []FieldError

func (e FieldErrors) Error() string {
	parts := make([]string, len(e))
	for i, f := range e {
		parts[i] = strings.Join(f.Loc, ".") + ": " + f.Msg
	}
	return strings.Join(parts, "; ")
}

// quotaExceededDTO is the 429 body the Portiere SDK turns into its
// QuotaExceededError (error_code, detail, usage).
type quotaExceededDTO struct {
	ErrorCode string        `json:"error_code"`
	Detail    string        `json:"detail"`
	Usage     quotaUsageDTO `json:"usage"`
}

type quotaUsageDTO struct {
	Meter       string `json:"meter"`
	Plan        string `json:"plan"`
	Used        int64  `json:"used"`
	Limit       int64  `json:"limit"`
	Requested   int64  `json:"requested"`
	PeriodStart string `json:"period_start"`
	PeriodEnd   string `json:"period_end"`
}

func quotaBody(e *billing.QuotaError) quotaExceededDTO {
	return quotaExceededDTO{
		ErrorCode: "QUOTA_EXCEEDED", Detail: e.Error(),
		Usage: quotaUsageDTO{
			Meter: string(e.Meter), Plan: e.Plan, Used: e.Used, Limit: e.Limit, Requested: e.Requested,
			PeriodStart: e.PeriodStart.UTC().Format(time.RFC3339), PeriodEnd: e.PeriodEnd.UTC().Format(time.RFC3339),
		},
	}
}

// errorHandler turns any error a handler returns into {"detail": ...}.
// Unexpected and unavailable errors are logged with the request id.
func (s *Server) errorHandler(c *fiber.Ctx, err error) error {
	var fields FieldErrors
	if errors.As(err, &fields) {
		return c.Status(fiber.StatusUnprocessableEntity).JSON(fiber.Map{"detail": fields})
	}
	var qe *billing.QuotaError
	if errors.As(err, &qe) {
		return c.Status(fiber.StatusTooManyRequests).JSON(quotaBody(qe))
	}
	status, detail, internal := statusOf(err)
	if internal {
		s.cfg.Logger.Error("request failed", "request_id", requestID(c), "method", c.Method(), "path", c.Path(), "status", status, "error", err)
	}
	return c.Status(status).JSON(fiber.Map{"detail": detail})
}
