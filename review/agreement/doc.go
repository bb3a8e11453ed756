// Package agreement measures how far reviewers agree and decides when a
// reviewed mapping item is final.
//
// Two independent pieces live here, both pure (no storage, no clock):
//
//   - Kappa and ProjectAgreement compute Cohen's kappa between two reviewers
//     over the items both of them decided, the agreement figure a project
//     reports when its second-reviewer rule is on.
//   - Resolve applies a project's review rule to the decisions recorded on
//     one item and says whether the item is undecided, final, waiting for a
//     second reviewer, or in disagreement.
//
// The package knows nothing about mapping items or HTTP; callers translate
// their own records into Rating and Decision values.
package agreement
