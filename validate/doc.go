// Package validate takes workload fingerprints (SQL Server, SharePoint, Linux
// services) before and after a move and compares them.
//
// validate never imports tui or transfer.
package validate
