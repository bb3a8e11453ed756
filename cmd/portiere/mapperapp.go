package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/spf13/cobra"

	"github.com/portiere/portiere/config"
	"github.com/portiere/portiere/crowd"
	"github.com/portiere/portiere/crowd/crowdstore"
	"github.com/portiere/portiere/mapper"
	"github.com/portiere/portiere/mapper/mapperstore"
	"github.com/portiere/portiere/mappingjob/mappingjobstore"
	"github.com/portiere/portiere/platform/line"
	"github.com/portiere/portiere/platform/postgres"
	"github.com/portiere/portiere/platform/stripeconnect"
	"github.com/portiere/portiere/vocab/vocabstore"
	"github.com/portiere/portiere/web"
)

// mapperWeb builds the mapper app (`portiere web --app=mapper`, and beside
// the dashboard under `portiere dev`) on pool: the mapper service with its
// KYC sealer and admins, LINE sign-in when LINE_CHANNEL_ID is set, the
// development sign-in when config allowed it (dev mode only), the crowd
// pages over crowdSvc, and the Stripe Connect payout account when
// STRIPE_SECRET_KEY is set. search answers the override's concept search; nil
// where the process holds no engine (`portiere web`: override by id).
// payouts starts the admins' payout batches; nil without Temporal.
func mapperWeb(cfg config.Config, pool *pgxpool.Pool, crowdSvc *crowd.Service, search web.SearchProvider, payouts web.PayoutStarter, log *slog.Logger) (*web.Server, error) {
	svc, err := mapperService(cfg, pool)
	if err != nil {
		return nil, err
	}
	mc := web.MapperConfig{Mappers: svc, LIFFID: cfg.Mapper.LIFFID, DevLogin: cfg.Mapper.DevLogin, Crowd: crowdSvc,
		Payouts: payouts, PayoutMinCents: cfg.Mapper.PayoutMinCents}
	if cfg.Mapper.LineChannelID != "" {
		v, err := line.NewVerifier(line.VerifierOptions{BaseURL: cfg.Mapper.LineAPIURL, ChannelID: cfg.Mapper.LineChannelID})
		if err != nil {
			return nil, err
		}
		mc.LineLogin = v
	}
	if cfg.Stripe.Configured() {
		// Payout accounts: Stripe Connect Express on the platform's key.
		sc, err := stripeconnect.New(stripeconnect.Config{SecretKey: cfg.Stripe.SecretKey, URL: cfg.Stripe.APIURL})
		if err != nil {
			return nil, err
		}
		mc.PayoutAccounts = sc
	}
	if mc.LineLogin == nil && !mc.DevLogin {
		log.Warn("the mapper app has no sign-in: set LINE_CHANNEL_ID and NEXT_PUBLIC_LIFF_ID (or MAPPER_DEV_LOGIN=true under portiere dev)")
	}
	cfgWeb := web.Config{App: web.AppMapper, Sessions: mapperstore.NewSessions(pool), MapperConfig: mc, Concepts: vocabstore.New(pool),
		SessionTTL: cfg.Web.SessionTTL, CookieSecure: cfg.Web.CookieSecure, Logger: log}
	if search != nil {
		cfgWeb.Search = search
	}
	return web.New(cfgWeb)
}

// mapperService is the mapper rules on pool with the KYC keys and admins
// of cfg.
func mapperService(cfg config.Config, pool *pgxpool.Pool) (*mapper.Service, error) {
	if len(cfg.Mapper.KYCKeys) == 0 {
		return nil, fmt.Errorf("MAPPER_KYC_KEYS is not set: the mapper app encrypts KYC documents with it (id:base64key; openssl rand -base64 32 makes a key)")
	}
	keys := make([]mapper.Key, len(cfg.Mapper.KYCKeys))
	for i, k := range cfg.Mapper.KYCKeys {
		keys[i] = mapper.Key{ID: k.ID, Key: k.Key}
	}
	sealer, err := mapper.NewSealer(keys)
	if err != nil {
		return nil, err
	}
	return mapper.NewService(mapperstore.New(pool), sealer, mapper.NewAdmins(cfg.Mapper.AdminLineUserIDs),
		mapper.Options{MaxDocumentBytes: cfg.Mapper.KYCMaxBytes}), nil
}

// mapperCommand is `portiere mapper`: the mapper platform's operator tasks.
func mapperCommand(ctx context.Context) *cobra.Command {
	cmd := &cobra.Command{Use: "mapper", Short: "Operate Portiere Mapper (KYC key rotation)"}
	cmd.AddCommand(&cobra.Command{
		Use:   "reseal-kyc",
		Short: "Re-encrypt every KYC document under the first key of MAPPER_KYC_KEYS",
		Long: `Re-encrypt every KYC document not sealed with the first key of
MAPPER_KYC_KEYS, so an older key can then be removed (docs/mapper.md, key
rotation). Every key that sealed a document must still be listed. Safe while
the mapper app serves, and to run again after an interruption.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, _, pool, err := loadConfigAndDB(ctx, config.ModeMigrate, cmd.ErrOrStderr(), postgres.Options{})
			if err != nil {
				return err
			}
			defer pool.Close()
			svc, err := mapperService(cfg, pool)
			if err != nil {
				return err
			}
			n, err := svc.Reseal(ctx)
			fmt.Fprintf(cmd.OutOrStdout(), "%d KYC documents resealed with key %q\n", n, cfg.Mapper.KYCKeys[0].ID)
			return err
		},
	})
	return cmd
}

// newCrowd is the crowd service on pool with the deployment's consensus
// rules (MAPPER_CONSENSUS_MIN_VOTES): the API, the worker and the mapper
// app all resolve votes by the same rules.
func newCrowd(cfg config.Config, pool *pgxpool.Pool) (*crowd.Service, error) {
	rules := crowd.DefaultRules()
	rules.MinVotes = cfg.Mapper.ConsensusMinVotes
	rules.MaxVotes = max(rules.MaxVotes, rules.MinVotes+2)
	return crowd.NewService(crowdstore.New(pool), mapperstore.New(pool), mappingjobstore.New(pool), crowd.Config{Consensus: rules})
}
