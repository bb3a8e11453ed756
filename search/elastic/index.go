package elastic

import (
	"bytes"
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
)

// mappingJSON is the index's settings and mappings; see the package
// documentation.
//
//go:embed mapping.json
var mappingJSON []byte

// metaKey is the mappings._meta key recording which mapping.json made an
// index.
const metaKey = "portiere_mapping"

// ErrMappingConflict is returned (wrapped) by CreateIndex when the index
// exists but was made from another mapping. Retrying will not help: delete
// the index or choose another name.
var ErrMappingConflict = errors.New("elastic: index exists with another mapping")

// MappingVersion identifies mapping.json: the first 16 hex digits of its
// SHA-256. CreateIndex stores it in the index's mappings._meta.
func MappingVersion() string {
	h := sha256.Sum256(mappingJSON)
	return hex.EncodeToString(h[:8])
}

// indexBody is mapping.json with the mapping version added to
// mappings._meta.
func indexBody() ([]byte, error) {
	var body map[string]json.RawMessage
	if err := json.Unmarshal(mappingJSON, &body); err != nil {
		return nil, fmt.Errorf("elastic: mapping.json: %w", err)
	}
	var mappings map[string]any
	if err := json.Unmarshal(body["mappings"], &mappings); err != nil {
		return nil, fmt.Errorf("elastic: mapping.json mappings: %w", err)
	}
	mappings["_meta"] = map[string]string{metaKey: MappingVersion()}
	m, err := json.Marshal(mappings)
	if err != nil {
		return nil, err
	}
	body["mappings"] = m
	return json.Marshal(body)
}

// CreateIndex creates index name with the clinical analyzer and the
// concept mapping. An index of that name made by the same mapping.json is
// left as it is, so CreateIndex can be retried; one made by another
// mapping is an error wrapping ErrMappingConflict.
func (c *Client) CreateIndex(ctx context.Context, name string) error {
	op := "create index " + name
	body, err := indexBody()
	if err != nil {
		return err
	}
	res, err := c.es.Indices.Create(name,
		c.es.Indices.Create.WithBody(bytes.NewReader(body)),
		c.es.Indices.Create.WithContext(ctx))
	if err != nil {
		return fmt.Errorf("elastic: %s: %w", op, err)
	}
	var ack struct {
		Acknowledged bool `json:"acknowledged"`
	}
	err = decode(op, res, &ack)
	var e *Error
	switch {
	case errors.As(err, &e) && e.Type == "resource_already_exists_exception":
		return c.checkMapping(ctx, name)
	case err != nil:
		return err
	case !ack.Acknowledged:
		// The cluster did not confirm in time; the index may yet appear,
		// and a retry will find it and check its mapping.
		return fmt.Errorf("elastic: %s: not acknowledged", op)
	}
	return nil
}

// checkMapping verifies that existing index name was made by this
// mapping.json.
func (c *Client) checkMapping(ctx context.Context, name string) error {
	op := "get mapping of " + name
	res, err := c.es.Indices.GetMapping(
		c.es.Indices.GetMapping.WithIndex(name),
		c.es.Indices.GetMapping.WithContext(ctx))
	if err != nil {
		return fmt.Errorf("elastic: %s: %w", op, err)
	}
	var got map[string]struct {
		Mappings struct {
			Meta map[string]any `json:"_meta"`
		} `json:"mappings"`
	}
	if err := decode(op, res, &got); err != nil {
		return err
	}
	want := MappingVersion()
	for idx, m := range got {
		if have, _ := m.Mappings.Meta[metaKey].(string); have != want {
			return fmt.Errorf("elastic: index %s has mapping %q, want %q: %w", idx, have, want, ErrMappingConflict)
		}
	}
	return nil
}

// DeleteIndex deletes index name; a missing index is not an error.
func (c *Client) DeleteIndex(ctx context.Context, name string) error {
	op := "delete index " + name
	res, err := c.es.Indices.Delete([]string{name}, c.es.Indices.Delete.WithContext(ctx))
	if err != nil {
		return fmt.Errorf("elastic: %s: %w", op, err)
	}
	if err := decode(op, res, nil); err != nil && !errors.Is(err, ErrIndexNotFound) {
		return err
	}
	return nil
}

// Refresh makes everything indexed so far in index searchable (and
// countable) now rather than at the next periodic refresh.
func (c *Client) Refresh(ctx context.Context, index string) error {
	op := "refresh " + index
	res, err := c.es.Indices.Refresh(c.es.Indices.Refresh.WithIndex(index), c.es.Indices.Refresh.WithContext(ctx))
	if err != nil {
		return fmt.Errorf("elastic: %s: %w", op, err)
	}
	return decode(op, res, nil)
}

// Count returns the number of searchable documents in index (an index or
// alias). Documents indexed since the last refresh are not counted.
func (c *Client) Count(ctx context.Context, index string) (int64, error) {
	op := "count " + index
	res, err := c.es.Count(c.es.Count.WithIndex(index), c.es.Count.WithContext(ctx))
	if err != nil {
		return 0, fmt.Errorf("elastic: %s: %w", op, err)
	}
	var body struct {
		Count *int64 `json:"count"`
	}
	if err := decode(op, res, &body); err != nil {
		return 0, err
	}
	if body.Count == nil {
		return 0, fmt.Errorf("elastic: %s: response has no count", op)
	}
	return *body.Count, nil
}

// SwapAlias points alias at index and at nothing else, in one atomic
// _aliases request, so searchers of the alias see either the old index or
// the new one, never both or neither. When alias already names exactly
// index it does nothing. It assumes one writer of alias at a time: an
// index given the alias between its read of the current holders and the
// swap keeps it.
func (c *Client) SwapAlias(ctx context.Context, alias, index string) error {
	holders, err := c.aliasHolders(ctx, alias)
	if err != nil {
		return err
	}
	type aliasAction struct {
		Index string `json:"index"`
		Alias string `json:"alias"`
	}
	var actions []map[string]aliasAction
	has := false
	for _, h := range holders {
		if h == index {
			has = true
			continue
		}
		actions = append(actions, map[string]aliasAction{"remove": {Index: h, Alias: alias}})
	}
	if has && len(actions) == 0 {
		return nil
	}
	if !has {
		actions = append(actions, map[string]aliasAction{"add": {Index: index, Alias: alias}})
	}
	body, err := json.Marshal(map[string]any{"actions": actions})
	if err != nil {
		return err
	}
	op := fmt.Sprintf("point alias %s at %s", alias, index)
	res, err := c.es.Indices.UpdateAliases(bytes.NewReader(body), c.es.Indices.UpdateAliases.WithContext(ctx))
	if err != nil {
		return fmt.Errorf("elastic: %s: %w", op, err)
	}
	var ack struct {
		Acknowledged bool `json:"acknowledged"`
	}
	if err := decode(op, res, &ack); err != nil {
		return err
	}
	if !ack.Acknowledged {
		return fmt.Errorf("elastic: %s: not acknowledged", op)
	}
	return nil
}

// aliasHolders returns the indexes alias points at, sorted.
func (c *Client) aliasHolders(ctx context.Context, alias string) ([]string, error) {
	op := "get alias " + alias
	res, err := c.es.Indices.GetAlias(c.es.Indices.GetAlias.WithName(alias), c.es.Indices.GetAlias.WithContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("elastic: %s: %w", op, err)
	}
	if res.StatusCode == http.StatusNotFound {
		// {"error":"alias [x] missing","status":404}: no index has it yet.
		res.Body.Close()
		return nil, nil
	}
	var got map[string]struct {
		Aliases map[string]json.RawMessage `json:"aliases"`
	}
	if err := decode(op, res, &got); err != nil {
		return nil, err
	}
	var out []string
	for idx, a := range got {
		if _, ok := a.Aliases[alias]; ok {
			out = append(out, idx)
		}
	}
	sort.Strings(out)
	return out, nil
}
