// Package targettest is the conformance suite every cloud.Target passes.
package targettest
