# shift-probe: sqlserver
# SQL Server instances from the registry; for each, its services and TCP port,
# then what the engine says through .NET System.Data.SqlClient with the
# discovery account's Windows credentials (no SqlServer module needed).
# Prints one JSON object per instance: nothing when SQL Server is not
# installed, a bare object for one instance, an array for several.
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'

$root = 'HKLM:\SOFTWARE\Microsoft\Microsoft SQL Server'
if (-not (Test-Path -LiteralPath "$root\Instance Names\SQL")) { return }
$names = Get-Item -LiteralPath "$root\Instance Names\SQL"

function Get-ServiceState([string]$Name) {
    $s = Get-CimInstance -ClassName Win32_Service -Filter "Name = '$Name'" -ErrorAction SilentlyContinue
    if ($s) { [string]$s.State } else { $null }
}

function Invoke-Query($Connection, [string]$Sql) {
    $cmd = $Connection.CreateCommand()
    $cmd.CommandText = $Sql
    $cmd.CommandTimeout = 60
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

$instances = foreach ($name in $names.GetValueNames()) {
    $id = [string]$names.GetValue($name)
    if ($name -eq 'MSSQLSERVER') {
        $service = 'MSSQLSERVER'; $agent = 'SQLSERVERAGENT'; $target = 'localhost'
    } else {
        $service = "MSSQL`$$name"; $agent = "SQLAgent`$$name"; $target = "localhost\$name"
    }
    $tcp = Get-ItemProperty -LiteralPath "$root\$id\MSSQLServer\SuperSocketNetLib\Tcp\IPAll" -ErrorAction SilentlyContinue
    $r = [ordered]@{
        Name = $name
        InstanceId = $id
        ServiceName = $service
        ServiceState = Get-ServiceState $service
        AgentState = Get-ServiceState $agent
        TcpPort = if ($tcp) { $tcp.TcpPort } else { $null }
        TcpDynamicPorts = if ($tcp) { $tcp.TcpDynamicPorts } else { $null }
        Error = $null
        Server = $null
        Databases = @()
        Logins = $null
        Jobs = @()
        AvailabilityGroups = @()
    }
    $conn = New-Object System.Data.SqlClient.SqlConnection "Server=$target;Database=master;Integrated Security=SSPI;Connect Timeout=15;Application Name=shift-discover"
    try {
        $conn.Open()
        $r.Server = (Invoke-Query $conn @"
SELECT CAST(SERVERPROPERTY('ProductVersion') AS nvarchar(128)) AS ProductVersion,
       CAST(SERVERPROPERTY('ProductLevel') AS nvarchar(128)) AS ProductLevel,
       CAST(SERVERPROPERTY('ProductUpdateLevel') AS nvarchar(128)) AS ProductUpdateLevel,
       CAST(SERVERPROPERTY('Edition') AS nvarchar(128)) AS Edition,
       CAST(SERVERPROPERTY('Collation') AS nvarchar(128)) AS Collation,
       CAST(SERVERPROPERTY('IsClustered') AS int) AS IsClustered,
       CAST(SERVERPROPERTY('IsHadrEnabled') AS int) AS IsHadrEnabled
"@)[0]
        $r.Databases = Invoke-Query $conn @"
SELECT d.name, d.database_id, d.state_desc, d.recovery_model_desc, d.compatibility_level, d.collation_name,
       CAST(SUM(CAST(mf.size AS bigint)) * 8192 AS bigint) AS size_bytes
FROM sys.databases d LEFT JOIN sys.master_files mf ON mf.database_id = d.database_id
GROUP BY d.name, d.database_id, d.state_desc, d.recovery_model_desc, d.compatibility_level, d.collation_name
ORDER BY d.database_id
"@
        $r.Logins = (Invoke-Query $conn "SELECT COUNT(*) AS logins FROM sys.server_principals WHERE type IN ('S', 'U', 'G') AND name NOT LIKE '##%'")[0].logins
        $r.Jobs = Invoke-Query $conn @"
SELECT j.name, j.enabled, h.run_status, h.run_date, h.run_time
FROM msdb.dbo.sysjobs j
OUTER APPLY (SELECT TOP 1 run_status, run_date, run_time FROM msdb.dbo.sysjobhistory jh
             WHERE jh.job_id = j.job_id AND jh.step_id = 0 ORDER BY jh.instance_id DESC) h
ORDER BY j.name
"@
        if ($r.Server.IsHadrEnabled -eq 1) {
            $r.AvailabilityGroups = Invoke-Query $conn @"
SELECT ag.name AS availability_group, adc.database_name
FROM sys.availability_groups ag
LEFT JOIN sys.availability_databases_cluster adc ON adc.group_id = ag.group_id
"@
        }
    } catch {
        $r.Error = [string]$_.Exception.Message
    } finally {
        $conn.Dispose()
    }
    [pscustomobject]$r
}

$instances | ConvertTo-Json -Depth 4
