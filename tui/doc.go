// Package tui is the interactive terminal wizard. It talks to migrate through
// events and returned plans and never imports cloud SDKs, ssh or winrm.
package tui
