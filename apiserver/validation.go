package apiserver

import (
	"strings"

	"github.com/gofiber/fiber/v2"
)

// FieldError is one entry of a ValidationErrors detail, in the shape the
// Portiere SDK's Review API documentation shows (FastAPI's): where the
// problem is (["body", "target_table"]), what it is, and its kind
// ("value_error.missing").
type FieldError struct {
	Loc  []string `json:"loc"`
	Msg  string   `json:"msg"`
	Type string   `json:"type"`
}

// ValidationErrors is a 422 whose detail is a list of FieldError rather
// than a sentence: the review routes answer a bad body this way because the
// Review API documentation does. errorHandler renders it.
type ValidationErrors []FieldError

func (v ValidationErrors) Error() string {
	parts := make([]string, len(v))
	for i, e := range v {
		parts[i] = strings.Join(e.Loc, ".") + ": " + e.Msg
	}
	return "invalid request: " + strings.Join(parts, "; ")
}

// asValidationErrors turns decodeJSON's 422 into the list shape (loc
// ["body"], type "value_error.jsondecode"); other errors pass through.
func asValidationErrors(err error) error {
	if ae, ok := err.(*Error); ok && ae.Status == fiber.StatusUnprocessableEntity {
		return ValidationErrors{{Loc: []string{"body"}, Msg: ae.Detail, Type: "value_error.jsondecode"}}
	}
	return err
}
