package main

import "errors"

// lockDir: the lab, and so its lock, is Linux only.
func lockDir(dir string) (unlock func(), err error) {
	return nil, errors.New("lab: the built-in lab runs on Linux only")
}
