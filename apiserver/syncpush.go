package apiserver

import (
	"fmt"

	"github.com/gofiber/fiber/v2"
)

// This file holds what the SDK's sync routes (ConceptItems, SchemaMappings,
// CrossMappings) do alike: the push body, the pushed revision and the
// answer's item list.

// decodePushItems reads a sync push's body {"items": [...]} (unknown keys
// ignored) and converts each item with convert, given its index. A body
// without "items" is a 422 whose detail is missing; convert's first error
// is returned as it is.
func decodePushItems[B, T any](c *fiber.Ctx, missing string, convert func(b B, i int) (T, error)) ([]T, error) {
	var body struct {
		Items []B `json:"items"`
	}
	if err := decodeJSON(c, &body, Lenient, false); err != nil {
		return nil, err
	}
	if body.Items == nil {
		return nil, &Error{Status: fiber.StatusUnprocessableEntity, Detail: missing}
	}
	out := make([]T, len(body.Items))
	for i, b := range body.Items {
		var err error
		if out[i], err = convert(b, i); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// itemsRequired is the 422 detail of a schema or cross-mapping push
// without "items".
const itemsRequired = `field "items" is required: send {"items": [...]}`

// pushItemError is the 422 naming item i of a push: "items[i]: " and the
// message.
func pushItemError(i int, format string, args ...any) error {
	return &Error{Status: fiber.StatusUnprocessableEntity, Detail: fmt.Sprintf("items[%d]: ", i) + fmt.Sprintf(format, args...)}
}

// pushedRevision is the revision item i of a push carries: 0 when null
// (overwrite), else the revision last pulled, which is 1 or more.
func pushedRevision(i int, revision *int) (int, error) {
	if revision == nil {
		return 0, nil
	}
	if *revision < 1 {
		return 0, pushItemError(i, "revision must be 1 or more (or null)")
	}
	return *revision, nil
}

// viewsOf is items in a route's answer shape, view applied to each; never
// nil, so an empty list is [] in JSON.
func viewsOf[T, V any](items []T, view func(T) V) []V {
	out := make([]V, len(items))
	for i, it := range items {
		out[i] = view(it)
	}
	return out
}
