// Command kube-controller-manager is upstream's cmd/kube-controller-manager
// main, rebuilt here for the same reason as kube-apiserver.
package main

import (
	"os"
	_ "time/tzdata" // for CronJob time zones, as upstream's binary

	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	_ "k8s.io/component-base/metrics/prometheus/version"
	"k8s.io/kubernetes/cmd/kube-controller-manager/app"
)

func main() {
	os.Exit(cli.Run(app.NewControllerManagerCommand()))
}
