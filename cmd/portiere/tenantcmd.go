package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/portiere/portiere/config"
	"github.com/portiere/portiere/credential"
	"github.com/portiere/portiere/platform/migrate"
	"github.com/portiere/portiere/platform/postgres"
	"github.com/portiere/portiere/tenancy"
	"github.com/portiere/portiere/tenancy/tenancystore"
)

// withTenants opens the database of DB_* (migrated) and runs f on its
// tenancy store.
func withTenants(ctx context.Context, cmd *cobra.Command, f func(config.Config, *tenancystore.Store) error) error {
	cfg, _, pool, err := loadConfigAndDB(ctx, config.ModeMigrate, cmd.ErrOrStderr(), postgres.Options{MaxConns: 2})
	if err != nil {
		return err
	}
	defer pool.Close()
	if _, err := migrate.Up(ctx, pool, migrate.Schema()); err != nil {
		return err
	}
	return f(cfg, tenancystore.New(pool))
}

var slugInvalid = regexp.MustCompile(`[^a-z0-9]+`)

// slugOf derives an organization's slug from its name.
func slugOf(name string) string {
	return strings.Trim(slugInvalid.ReplaceAllString(strings.ToLower(name), "-"), "-")
}

// findOrg accepts an organization's id or slug.
func findOrg(ctx context.Context, s *tenancystore.Store, ref string) (tenancy.Organization, error) {
	o, err := s.OrganizationBySlug(ctx, ref)
	if errors.Is(err, tenancy.ErrNotFound) {
		return s.Organization(ctx, ref)
	}
	return o, err
}

func orgCommand(ctx context.Context) *cobra.Command {
	org := &cobra.Command{Use: "org", Short: "Manage organizations (DB_* names the database)"}
	var slug string
	create := &cobra.Command{
		Use: "create NAME", Short: "Create an organization and print its id and slug", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withTenants(ctx, cmd, func(_ config.Config, s *tenancystore.Store) error {
				if slug == "" {
					slug = slugOf(args[0])
				}
				o, err := s.CreateOrganization(ctx, tenancy.Organization{Name: args[0], Slug: slug})
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "organization %s created: id %s, slug %s\n", o.Name, o.ID, o.Slug)
				return nil
			})
		},
	}
	create.Flags().StringVar(&slug, "slug", "", "URL name (default: derived from NAME)")
	org.AddCommand(create)
	return org
}

func userCommand(ctx context.Context) *cobra.Command {
	user := &cobra.Command{Use: "user", Short: "Manage users (DB_* names the database)"}
	var orgRef, email, name, role string
	create := &cobra.Command{
		Use:   "create",
		Short: "Create a user with a role in an organization",
		Long: `Creates the user (or reuses one with that email) and gives it ROLE in the
organization. The password is read from standard input when it is not a
terminal; otherwise one is generated and printed once.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, err := credential.ParseRole(role)
			if err != nil {
				return err
			}
			password, generated, err := readPassword(cmd.InOrStdin())
			if err != nil {
				return err
			}
			hash, err := credential.HashPassword(password)
			if err != nil {
				return err
			}
			return withTenants(ctx, cmd, func(_ config.Config, s *tenancystore.Store) error {
				o, err := findOrg(ctx, s, orgRef)
				if err != nil {
					return err
				}
				u, err := s.CreateUser(ctx, tenancy.User{Email: email, Name: name, PasswordHash: hash})
				if errors.Is(err, tenancy.ErrConflict) {
					generated = ""
					u, err = s.UserByEmail(ctx, email)
				}
				if err != nil {
					return err
				}
				if _, err := s.AddMember(ctx, tenancy.Membership{OrganizationID: o.ID, UserID: u.ID, Role: r}); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "user %s (id %s) is %s of %s\n", u.Email, u.ID, r, o.Slug)
				if generated != "" {
					fmt.Fprintf(cmd.OutOrStdout(), "password: %s (shown once)\n", generated)
				}
				return nil
			})
		},
	}
	create.Flags().StringVar(&orgRef, "org", "", "organization id or slug (required)")
	create.Flags().StringVar(&email, "email", "", "email (required)")
	create.Flags().StringVar(&name, "name", "", "display name")
	create.Flags().StringVar(&role, "role", "member", "owner, admin, member or viewer")
	create.MarkFlagRequired("org")
	create.MarkFlagRequired("email")
	user.AddCommand(create)
	return user
}

// readPassword reads one line from in unless in is a terminal (or empty);
// then it generates a password and returns it as generated too.
func readPassword(in io.Reader) (password, generated string, err error) {
	if in != nil && !isTerminal(in) {
		line, err := bufio.NewReader(in).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", "", err
		}
		if p := strings.TrimRight(line, "\r\n"); p != "" {
			return p, "", nil
		}
	}
	b := make([]byte, 18)
	if _, err := rand.Read(b); err != nil {
		return "", "", err
	}
	p := base64.RawURLEncoding.EncodeToString(b)
	return p, p, nil
}

func isTerminal(in io.Reader) bool {
	f, ok := in.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func apikeyCommand(ctx context.Context) *cobra.Command {
	apikey := &cobra.Command{Use: "apikey", Short: "Manage API keys (DB_* and API_KEY_SALT name the database and the hashing salt)"}
	var orgRef, projectRef, scope, name, userEmail string
	create := &cobra.Command{
		Use:   "create",
		Short: "Create an API key and print it once",
		Long: `Creates a key of the organization, optionally restricted to one project.
With --user the key acts with that member's role; without, it acts as an
organization admin.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			sc, err := credential.ParseScope(scope)
			if err != nil {
				return err
			}
			return withTenants(ctx, cmd, func(cfg config.Config, s *tenancystore.Store) error {
				hasher, err := credential.NewKeyHasher(cfg.Auth.APIKeySalt)
				if err != nil {
					return fmt.Errorf("API_KEY_SALT: %w", err)
				}
				o, err := findOrg(ctx, s, orgRef)
				if err != nil {
					return err
				}
				k := tenancy.APIKey{OrganizationID: o.ID, Name: name, Scopes: []string{string(sc)}}
				if projectRef != "" {
					p, err := s.ProjectByName(ctx, o.ID, projectRef)
					if errors.Is(err, tenancy.ErrNotFound) {
						if p, err = s.Project(ctx, projectRef); err == nil && p.OrganizationID != o.ID {
							err = fmt.Errorf("%w: project %s in %s", tenancy.ErrNotFound, projectRef, o.Slug)
						}
					}
					if err != nil {
						return err
					}
					k.ProjectID = p.ID
				}
				if userEmail != "" {
					u, err := s.UserByEmail(ctx, userEmail)
					if err != nil {
						return err
					}
					if _, err := s.Membership(ctx, o.ID, u.ID); err != nil {
						return fmt.Errorf("%s is not a member of %s: %w", userEmail, o.Slug, err)
					}
					k.UserID = u.ID
				}
				issued := hasher.Issue()
				k.Prefix, k.Hash = issued.Prefix, issued.Hash.String()
				if _, err := s.CreateAPIKey(ctx, k); err != nil {
					return err
				}
				fmt.Fprintln(cmd.OutOrStdout(), issued.Key)
				fmt.Fprintf(cmd.ErrOrStderr(), "API key %s (scope %s) of %s created; it is shown only this once\n", issued.Prefix, sc, o.Slug)
				return nil
			})
		},
	}
	create.Flags().StringVar(&orgRef, "org", "", "organization id or slug (required)")
	create.Flags().StringVar(&projectRef, "project", "", "restrict the key to this project (name or id)")
	create.Flags().StringVar(&scope, "scope", "read", "read or write")
	create.Flags().StringVar(&name, "name", "", "a name to tell the key apart in listings")
	create.Flags().StringVar(&userEmail, "user", "", "member whose role the key acts with (default: admin)")
	create.MarkFlagRequired("org")
	revoke := &cobra.Command{
		Use: "revoke PREFIX", Short: "Revoke the API key shown as PREFIX; it is refused from the next request on", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withTenants(ctx, cmd, func(_ config.Config, s *tenancystore.Store) error {
				k, err := s.RevokeAPIKeyByPrefix(ctx, args[0], time.Now())
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "API key %s revoked at %s\n", k.Prefix, k.RevokedAt.Format(time.RFC3339))
				return nil
			})
		},
	}
	apikey.AddCommand(create, revoke)
	return apikey
}
