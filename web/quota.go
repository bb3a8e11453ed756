package web

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/portiere/portiere/billing"
)

// Quota checks an organization's plan before the dashboard adds a project
// or a member (billing.Service): a *billing.QuotaError refuses.
type Quota interface {
	Check(ctx context.Context, org string, m billing.Meter, n int64) error
}

// checkQuota asks cfg.Quota, when set, whether org may add one more of m.
// It returns the sentence the page shows for a plan limit reached (and a
// nil error), or "" and any other error.
func (s *Server) checkQuota(ctx context.Context, org string, m billing.Meter) (string, error) {
	if s.cfg.Quota == nil {
		return "", nil
	}
	err := s.cfg.Quota.Check(ctx, org, m, 1)
	var qe *billing.QuotaError
	if errors.As(err, &qe) {
		what := strings.ReplaceAll(string(qe.Meter), "_", " ")
		return fmt.Sprintf("The %s plan allows %d %s and this organization has %d: upgrade the plan (Billing) or remove one first.",
			qe.Plan, qe.Limit, what, qe.Used), nil
	}
	return "", err
}
