module github.com/gohotfix/hotfix/metrics

go 1.26.0

require (
	github.com/gohotfix/hotfix v0.0.0
	github.com/prometheus/client_golang v1.25.0
)

require (
	github.com/beorn7/perks v1.0.1 // indirect
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/fsnotify/fsnotify v1.10.1 // indirect
	github.com/munnerz/goautoneg v0.0.0-20191010083416-a7dc8b61c822 // indirect
	github.com/prometheus/client_model v0.6.3 // indirect
	github.com/prometheus/common v0.72.0 // indirect
	github.com/prometheus/procfs v0.22.0 // indirect
	golang.org/x/arch v0.33.0 // indirect
	golang.org/x/sys v0.50.0 // indirect
	google.golang.org/protobuf v1.36.12 // indirect
	gopkg.in/yaml.v3 v3.0.1 // indirect
)

// A module of its own, so that a service that does not use Prometheus
// does not get client_golang and its requirements (protobuf among them) in
// its module graph by depending on hotfix. In this repository it builds
// against the hotfix beside it.
replace github.com/gohotfix/hotfix => ../
