// Package metrics exports what a hotfix agent does to Prometheus. It is a
// package of its own so that services that do not use Prometheus do not
// link client_golang:
//
//	reg.MustRegister(metrics.NewCollector(agent))
//
// The metric names and labels are part of hotfix's public contract
// (README, "Metrics").
package metrics

import (
	"github.com/gohotfix/hotfix"
	"github.com/prometheus/client_golang/prometheus"
)

var (
	patchesDesc = prometheus.NewDesc("hotfix_patches",
		"Patches of this process by state.", []string{"state"}, nil)
	eventsDesc = prometheus.NewDesc("hotfix_events_total",
		"Decisions the agent recorded, by the state recorded.", []string{"event"}, nil)
	dropToLiveDesc = prometheus.NewDesc("hotfix_drop_to_live_seconds",
		"Time from a patch file's first event to its jumps written.", nil, nil)
	stoppedWorldDesc = prometheus.NewDesc("hotfix_stopped_world_seconds",
		"Time the world was stopped, per apply and revert.", nil, nil)
	loadedDesc = prometheus.NewDesc("hotfix_plugins_loaded",
		"Plugins opened by this process; they stay mapped until it exits.", nil, nil)
	maxDesc = prometheus.NewDesc("hotfix_plugins_max",
		"limits.max_patches of the policy in force.", nil, nil)
	reloadErrorsDesc = prometheus.NewDesc("hotfix_policy_reload_errors_total",
		"Edits of the policy file refused; the previous policy stayed in force.", nil, nil)
	revokedDesc = prometheus.NewDesc("hotfix_patches_revoked",
		"Applied patches whose signer the policy in force no longer trusts (trust.on_revoked_key: keep).", nil, nil)
	infoDesc = prometheus.NewDesc("hotfix_info",
		"The Go version and build ID of this binary, which patches must match.", []string{"go_version", "build_id"}, nil)
)

// states are the label values of hotfix_patches and hotfix_events_total,
// always all of them, so that a dashboard sees zeros rather than gaps.
var states = []hotfix.State{hotfix.StateApplied, hotfix.StateReverted, hotfix.StateRefused, hotfix.StateFailed}

type collector struct{ agent *hotfix.Agent }

// NewCollector returns a collector of agent's metrics. Every scrape reads
// one snapshot (hotfix.Agent.Metrics), so the figures of a scrape agree.
func NewCollector(agent *hotfix.Agent) prometheus.Collector { return collector{agent} }

func (c collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{patchesDesc, eventsDesc, dropToLiveDesc, stoppedWorldDesc, loadedDesc, maxDesc, reloadErrorsDesc, revokedDesc, infoDesc} {
		ch <- d
	}
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	m := c.agent.Metrics()
	for _, s := range states {
		ch <- prometheus.MustNewConstMetric(patchesDesc, prometheus.GaugeValue, float64(m.Patches[s]), string(s))
		ch <- prometheus.MustNewConstMetric(eventsDesc, prometheus.CounterValue, float64(m.Events[s]), string(s))
	}
	ch <- histogram(dropToLiveDesc, m.DropToLive)
	ch <- histogram(stoppedWorldDesc, m.StoppedWorld)
	ch <- prometheus.MustNewConstMetric(loadedDesc, prometheus.GaugeValue, float64(m.PluginsLoaded))
	ch <- prometheus.MustNewConstMetric(maxDesc, prometheus.GaugeValue, float64(m.PluginsMax))
	ch <- prometheus.MustNewConstMetric(reloadErrorsDesc, prometheus.CounterValue, float64(m.PolicyReloadErrors))
	ch <- prometheus.MustNewConstMetric(revokedDesc, prometheus.GaugeValue, float64(m.Revoked))
	ch <- prometheus.MustNewConstMetric(infoDesc, prometheus.GaugeValue, 1, m.GoVersion, m.BuildID)
}

func histogram(d *prometheus.Desc, h hotfix.Histogram) prometheus.Metric {
	buckets := make(map[float64]uint64, len(h.Bounds))
	for i, b := range h.Bounds {
		buckets[b] = h.Counts[i]
	}
	return prometheus.MustNewConstHistogram(d, h.Count, h.Sum, buckets)
}
