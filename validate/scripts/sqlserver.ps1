# shift-probe: validate-sqlserver
$BudgetSeconds = 120
$SampleAboveBytes = 1073741824
$CheckDB = 0
$SqlUser = ''
$SqlPassword = ''
# shift-parameters-end
# Fingerprint of the SQL Server instances of this host, for shift validate.
# Windows PowerShell 5.1, .NET System.Data.SqlClient (no SqlServer module).
# Instances come from the registry; each is read with the WinRM account's
# Windows credentials, or with SQL authentication when $SqlUser is set (the
# password goes into a read-only SecureString inside a SqlCredential, never
# into a connection string, and is printed nowhere).
#
# Per user database and table: the row count and
# CHECKSUM_AGG(BINARY_CHECKSUM(*)), within $BudgetSeconds for the whole host.
# A table of more than $SampleAboveBytes (reserved pages, indexes included)
# gets the count and checksum of a repeatable 1 % page sample (TABLESAMPLE
# SYSTEM ... REPEATABLE: the same pages on a block-for-block copy); tables
# met after the budget is spent are listed as "skipped: budget". $CheckDB = 1 runs
# DBCC CHECKDB ... WITH PHYSICAL_ONLY on every database but tempdb.
#
# Prints {"Absent": "<why>"} when SQL Server is not installed, else one
# object with the SQL services and an Instances array.
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'

$root = 'HKLM:\SOFTWARE\Microsoft\Microsoft SQL Server'
if (-not (Test-Path -LiteralPath "$root\Instance Names\SQL")) {
    [pscustomobject]@{ Absent = "SQL Server is not installed: no instance is registered under $root\Instance Names\SQL" } | ConvertTo-Json -Depth 2
    return
}
$names = Get-Item -LiteralPath "$root\Instance Names\SQL"

$credential = $null
if ($SqlUser) {
    $secure = New-Object System.Security.SecureString
    foreach ($c in $SqlPassword.ToCharArray()) { $secure.AppendChar($c) }
    $secure.MakeReadOnly()
    $credential = New-Object System.Data.SqlClient.SqlCredential($SqlUser, $secure)
}
$SqlPassword = $null

$clock = [System.Diagnostics.Stopwatch]::StartNew()
function Get-Remaining { [int][Math]::Floor($BudgetSeconds - $clock.Elapsed.TotalSeconds) }

function Open-Sql([string]$Target) {
    $b = New-Object System.Data.SqlClient.SqlConnectionStringBuilder
    $b['Data Source'] = $Target
    $b['Initial Catalog'] = 'master'
    $b['Connect Timeout'] = 15
    $b['Application Name'] = 'shift-validate'
    if ($credential) {
        $conn = New-Object System.Data.SqlClient.SqlConnection($b.ConnectionString, $credential)
    } else {
        $b['Integrated Security'] = $true
        $conn = New-Object System.Data.SqlClient.SqlConnection($b.ConnectionString)
    }
    $conn.Open()
    $conn
}

function Invoke-Query($Connection, [string]$Sql, [int]$Timeout = 60) {
    $cmd = $Connection.CreateCommand()
    $cmd.CommandText = $Sql
    $cmd.CommandTimeout = $Timeout
    $reader = $cmd.ExecuteReader()
    $rows = New-Object System.Collections.ArrayList
    try {
        while ($reader.Read()) {
            $row = [ordered]@{}
            for ($i = 0; $i -lt $reader.FieldCount; $i++) {
                $v = $reader.GetValue($i)
                if ($v -is [System.DBNull]) { $v = $null }
                $row[$reader.GetName($i)] = $v
            }
            [void]$rows.Add([pscustomobject]$row)
        }
    } finally { $reader.Close() }
    , $rows.ToArray()
}

function Get-Quoted([string]$Name) { '[' + $Name.Replace(']', ']]') + ']' }

function Get-TableData($Connection, $Table) {
    $q = (Get-Quoted $Table.schema) + '.' + (Get-Quoted $Table.name)
    $t = [ordered]@{
        Schema = $Table.schema; Name = $Table.name; Mode = 'full'; Rows = $Table.rows; Checksum = $null
        SizeBytes = $Table.bytes; EstimatedRows = $Table.rows; Error = $null
    }
    $remaining = Get-Remaining
    if ($remaining -le 0) {
        $t.Mode = 'skipped: budget'
        return [pscustomobject]$t
    }
    $from = $q
    if ($Table.bytes -gt $SampleAboveBytes) {
        $t.Mode = 'sampled'
        $from = "$q TABLESAMPLE SYSTEM (1 PERCENT) REPEATABLE (20240601)"
    }
    try {
        $r = (Invoke-Query $Connection "SELECT COUNT_BIG(*) AS n, CHECKSUM_AGG(BINARY_CHECKSUM(*)) AS c FROM $from" $remaining)[0]
        $t.Rows = $r.n; $t.Checksum = $r.c
    } catch {
        $t.Mode = 'error'; $t.Error = [string]$_.Exception.Message
    }
    [pscustomobject]$t
}

function Get-CheckDB($Connection, [string]$Database) {
    $cmd = $Connection.CreateCommand()
    $cmd.CommandText = "DBCC CHECKDB (" + (Get-Quoted $Database) + ") WITH PHYSICAL_ONLY, NO_INFOMSGS"
    $cmd.CommandTimeout = 0
    try {
        [void]$cmd.ExecuteNonQuery()
        [pscustomobject]@{ Ok = $true; Message = $null }
    } catch {
        [pscustomobject]@{ Ok = $false; Message = [string]$_.Exception.Message }
    }
}

$services = @(Get-Service | Where-Object { $_.Name -match '^(MSSQLSERVER|MSSQL\$|SQLSERVERAGENT|SQLAgent\$|SQLBrowser|SQLWriter|MSSQLFDLauncher)' } |
    Select-Object Name, DisplayName, Status, StartType)

$instances = @(foreach ($name in $names.GetValueNames()) {
    $id = [string]$names.GetValue($name)
    if ($name -eq 'MSSQLSERVER') {
        $service = 'MSSQLSERVER'; $agent = 'SQLSERVERAGENT'; $target = 'localhost'
    } else {
        $service = "MSSQL`$$name"; $agent = "SQLAgent`$$name"; $target = "localhost\$name"
    }
    $r = [ordered]@{
        Name = $name
        ServiceName = $service
        AgentServiceName = $agent
        TcpPorts = $null
        Error = $null
        Server = $null
        Databases = @()
        Logins = @()
        Jobs = @()
        LinkedServers = @()
        Endpoints = @()
    }
    $engine = Get-CimInstance -ClassName Win32_Service -Filter "Name = '$service'" -ErrorAction SilentlyContinue
    if ($engine -and $engine.ProcessId) {
        # The ports sqlservr.exe listens on: one number when there is one.
        $r.TcpPorts = Get-NetTCPConnection -State Listen -OwningProcess $engine.ProcessId -ErrorAction SilentlyContinue |
            Select-Object -ExpandProperty LocalPort -Unique
    }
    $conn = $null
    try {
        $conn = Open-Sql $target
        $r.Server = (Invoke-Query $conn @"
SELECT CAST(SERVERPROPERTY('ProductVersion') AS nvarchar(128)) AS ProductVersion,
       CAST(SERVERPROPERTY('ProductLevel') AS nvarchar(128)) AS ProductLevel,
       CAST(SERVERPROPERTY('ProductUpdateLevel') AS nvarchar(128)) AS ProductUpdateLevel,
       CAST(SERVERPROPERTY('Edition') AS nvarchar(128)) AS Edition,
       CAST(SERVERPROPERTY('Collation') AS nvarchar(128)) AS Collation
"@)[0]
        $databases = Invoke-Query $conn @"
SELECT d.name, d.database_id, d.state_desc, d.recovery_model_desc, d.compatibility_level, d.collation_name,
       CAST(SUM(CAST(mf.size AS bigint)) * 8192 AS bigint) AS size_bytes
FROM sys.databases d LEFT JOIN sys.master_files mf ON mf.database_id = d.database_id
WHERE d.source_database_id IS NULL
GROUP BY d.name, d.database_id, d.state_desc, d.recovery_model_desc, d.compatibility_level, d.collation_name
ORDER BY d.database_id
"@
        $r.Databases = @(foreach ($d in $databases) {
            $db = [ordered]@{
                Name = $d.name; State = $d.state_desc; RecoveryModel = $d.recovery_model_desc
                CompatibilityLevel = $d.compatibility_level; Collation = $d.collation_name; SizeBytes = $d.size_bytes
                Tables = @(); Error = $null; CheckDB = $null
            }
            if ($d.state_desc -eq 'ONLINE' -and $d.database_id -gt 4) {
                try {
                    $conn.ChangeDatabase($d.name)
                    $tables = Invoke-Query $conn @"
SELECT s.name AS [schema], t.name AS [name],
       SUM(CASE WHEN ps.index_id IN (0, 1) THEN ps.row_count ELSE 0 END) AS [rows],
       SUM(ps.reserved_page_count) * 8192 AS [bytes]
FROM sys.tables t
JOIN sys.schemas s ON s.schema_id = t.schema_id
JOIN sys.dm_db_partition_stats ps ON ps.object_id = t.object_id
WHERE t.is_ms_shipped = 0
GROUP BY s.name, t.name
ORDER BY s.name, t.name
"@
                    $db.Tables = @(foreach ($t in $tables) { Get-TableData $conn $t })
                } catch {
                    $db.Error = [string]$_.Exception.Message
                } finally {
                    $conn.ChangeDatabase('master')
                }
            }
            if ($CheckDB -eq 1 -and $d.state_desc -eq 'ONLINE' -and $d.name -ne 'tempdb') {
                $db.CheckDB = Get-CheckDB $conn $d.name
            }
            [pscustomobject]$db
        })
        $r.Logins = Invoke-Query $conn @"
SELECT name, type_desc, is_disabled FROM sys.server_principals
WHERE type IN ('S', 'U', 'G', 'C', 'K') AND name NOT LIKE '##%' ORDER BY name
"@
        $r.Jobs = Invoke-Query $conn @"
SELECT j.name, j.enabled, h.run_status
FROM msdb.dbo.sysjobs j
OUTER APPLY (SELECT TOP 1 run_status FROM msdb.dbo.sysjobhistory jh
             WHERE jh.job_id = j.job_id AND jh.step_id = 0 ORDER BY jh.instance_id DESC) h
ORDER BY j.name
"@
        $r.LinkedServers = Invoke-Query $conn "SELECT name, product, provider, data_source FROM sys.servers WHERE is_linked = 1 ORDER BY name"
        $r.Endpoints = Invoke-Query $conn @"
SELECT e.name, e.type_desc, e.state_desc, t.port
FROM sys.endpoints e LEFT JOIN sys.tcp_endpoints t ON t.endpoint_id = e.endpoint_id
ORDER BY e.name
"@
    } catch {
        $r.Error = [string]$_.Exception.Message
    } finally {
        if ($conn) { $conn.Dispose() }
    }
    [pscustomobject]$r
})

[pscustomobject]@{
    Absent = $null
    BudgetSeconds = $BudgetSeconds
    ElapsedSeconds = [Math]::Round($clock.Elapsed.TotalSeconds, 1)
    Services = $services
    Instances = $instances
} | ConvertTo-Json -Depth 6
