package billing

// Meter is a quantity an organization's plan limits per month (searches,
// mapped items) or at any time (projects, seats).
type Meter string

// The meters. ConceptSearches and MappedItems are counted per calendar
// month (UTC) in PostgreSQL; Projects and Seats are the organization's
// current number of active projects and memberships.
const (
	ConceptSearches Meter = "concept_searches"
	MappedItems     Meter = "mapped_items"
	Projects        Meter = "projects"
	Seats           Meter = "seats"
)

// Meters lists every meter, in the order responses show them.
var Meters = []Meter{ConceptSearches, MappedItems, Projects, Seats}

// Monthly reports whether m is counted per month (rather than a current
// count).
func (m Meter) Monthly() bool { return m == ConceptSearches || m == MappedItems }

// Unlimited is the quota of a meter a plan does not limit.
const Unlimited int64 = -1

// Plan is what an organization may use.
type Plan struct {
	Name string
	// RateLimitPerMinute is the plan's requests per API key per minute; 0
	// means the deployment's RATE_LIMIT_PER_MINUTE.
	RateLimitPerMinute int
	// Quotas per meter; a missing meter or Unlimited is not limited.
	Quotas map[Meter]int64
}

// Limit returns the plan's quota of m, or Unlimited.
func (p Plan) Limit(m Meter) int64 {
	if q, ok := p.Quotas[m]; ok {
		return q
	}
	return Unlimited
}

// The plan names.
const (
	PlanFree       = "free"
	PlanPro        = "pro"
	PlanEnterprise = "enterprise"
)

// Plans is the catalog: the one place plans and their quotas are set.
// Free and enterprise set no rate limit of their own: the deployment's
// RATE_LIMIT_PER_MINUTE applies (an enterprise deployment sets it to what
// its contract says). Enterprise is unlimited; it is the demo
// organization's plan in `portiere dev`. An unknown plan name (a plan
// removed from the catalog) reads as free.
func Plans() map[string]Plan {
	return map[string]Plan{
		PlanFree: {Name: PlanFree, Quotas: map[Meter]int64{
			ConceptSearches: 1_000, MappedItems: 1_000, Projects: 3, Seats: 3,
		}},
		PlanPro: {Name: PlanPro, RateLimitPerMinute: 600, Quotas: map[Meter]int64{
			ConceptSearches: 100_000, MappedItems: 50_000, Projects: 50, Seats: 25,
		}},
		PlanEnterprise: {Name: PlanEnterprise, Quotas: map[Meter]int64{
			ConceptSearches: Unlimited, MappedItems: Unlimited, Projects: Unlimited, Seats: Unlimited,
		}},
	}
}
