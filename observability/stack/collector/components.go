// The components of otel-collector-config.yaml and nothing else, as the
// collector builder (ocb) would generate them from a manifest. Adding a
// component to the config means adding its factory here and its module to
// go.mod at the same release as the others: core and contrib v0.165.0 (core's
// stable modules v1.71.0), the release of the contrib image pinned in .env.
package main

import (
	"github.com/open-telemetry/opentelemetry-collector-contrib/connector/spanmetricsconnector"
	"github.com/open-telemetry/opentelemetry-collector-contrib/exporter/prometheusexporter"
	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/healthcheckextension"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/connector"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/debugexporter"
	"go.opentelemetry.io/collector/exporter/otlpexporter"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/collector/otelcol"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/batchprocessor"
	"go.opentelemetry.io/collector/processor/memorylimiterprocessor"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/otlpreceiver"
	"go.opentelemetry.io/collector/service/telemetry/otelconftelemetry"
)

func components() (otelcol.Factories, error) {
	var err error
	factories := otelcol.Factories{Telemetry: otelconftelemetry.NewFactory()}

	factories.Extensions, err = otelcol.MakeFactoryMap[extension.Factory](
		healthcheckextension.NewFactory(),
	)
	if err != nil {
		return otelcol.Factories{}, err
	}
	factories.Receivers, err = otelcol.MakeFactoryMap[receiver.Factory](
		otlpreceiver.NewFactory(),
	)
	if err != nil {
		return otelcol.Factories{}, err
	}
	factories.Processors, err = otelcol.MakeFactoryMap[processor.Factory](
		memorylimiterprocessor.NewFactory(),
		batchprocessor.NewFactory(),
	)
	if err != nil {
		return otelcol.Factories{}, err
	}
	factories.Connectors, err = otelcol.MakeFactoryMap[connector.Factory](
		spanmetricsconnector.NewFactory(),
	)
	if err != nil {
		return otelcol.Factories{}, err
	}
	factories.Exporters, err = otelcol.MakeFactoryMap[exporter.Factory](
		otlpexporter.NewFactory(),
		prometheusexporter.NewFactory(),
		debugexporter.NewFactory(),
	)
	if err != nil {
		return otelcol.Factories{}, err
	}
	// What `otelcol-media-cluster components` reports per component, as ocb writes it.
	factories.ExtensionModules = map[component.Type]string{
		healthcheckextension.NewFactory().Type(): contrib + "/extension/healthcheckextension " + release,
	}
	factories.ReceiverModules = map[component.Type]string{
		otlpreceiver.NewFactory().Type(): core + "/receiver/otlpreceiver " + release,
	}
	factories.ProcessorModules = map[component.Type]string{
		memorylimiterprocessor.NewFactory().Type(): core + "/processor/memorylimiterprocessor " + release,
		batchprocessor.NewFactory().Type():         core + "/processor/batchprocessor " + release,
	}
	factories.ConnectorModules = map[component.Type]string{
		spanmetricsconnector.NewFactory().Type(): contrib + "/connector/spanmetricsconnector " + release,
	}
	factories.ExporterModules = map[component.Type]string{
		otlpexporter.NewFactory().Type():       core + "/exporter/otlpexporter " + release,
		prometheusexporter.NewFactory().Type(): contrib + "/exporter/prometheusexporter " + release,
		debugexporter.NewFactory().Type():      core + "/exporter/debugexporter " + release,
	}
	return factories, nil
}

const (
	core    = "go.opentelemetry.io/collector"
	contrib = "github.com/open-telemetry/opentelemetry-collector-contrib"
	// Every module above is at this release (go.mod); .env pins the same contrib image.
	release = "v0.165.0"
)
