// Command kube-apiserver is upstream's cmd/kube-apiserver main, rebuilt here
// because k8s.io/kubernetes cannot be `go install`ed (its go.mod has replace lines).
package main

import (
	"os"
	_ "time/tzdata" // for CronJob time zones, as upstream's binary

	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	_ "k8s.io/component-base/metrics/prometheus/version"
	"k8s.io/kubernetes/cmd/kube-apiserver/app"
)

func main() {
	os.Exit(cli.Run(app.NewAPIServerCommand()))
}
