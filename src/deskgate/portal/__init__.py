"""The customer portal's core, framework-free: the JSM connection, the catalogue cache, per-desk settings,
customer provisioning and the authorization rule every read and write goes through.

    connection    JiraSettings (the JSM connection in the database, secret encrypted) and JsmClients
    catalogue     TTL cache of desks, request type groups, request types and forms; one fetch per key
    desks         DeskSettings (SSO per desk, visible request types), substitute links, JSM path shapes
    provisioning  IdP subject ↔ JSM customer: find exactly by e-mail, create, add to desks, remember
    access        authorize_request: reporter or participant, else NotFound (never 403)
"""
