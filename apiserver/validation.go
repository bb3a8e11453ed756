package apiserver

import (
	"github.com/gofiber/fiber/v2"
)

// asValidationErrors turns decodeJSON's 422 into the list shape (loc
// ["body"], type "value_error.jsondecode"); other errors pass through.
func asValidationErrors(err error) error {
	if ae, ok := err.(*Error); ok && ae.Status == fiber.StatusUnprocessableEntity {
		return FieldErrors{{Loc: []string{"body"}, Msg: ae.Detail, Type: "value_error.jsondecode"}}
	}
	return err
}
