package postgres

import (
	"errors"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// IsNULText reports whether err (or an error it wraps) is PostgreSQL
// refusing a NUL character in a text value: SQLSTATE 22021
// (character_not_in_repertoire) naming byte 0x00. No text column can hold
// one, so it is the sender's input that is wrong, whichever store saw it;
// stores keep the driver's error in their chains for this.
func IsNULText(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "22021" && strings.Contains(pe.Message, "0x00")
}
