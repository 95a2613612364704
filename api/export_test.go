package api

import (
	"maps"
	"slices"
)

// Routes returns the patterns s serves, in order.
func (s *Server) Routes() []string { return slices.Sorted(maps.Keys(s.routes())) }

// Statuses maps every error code to its HTTP status.
var Statuses = statuses
