// Package calcclient receives a client generated from package calc.
package calcclient
