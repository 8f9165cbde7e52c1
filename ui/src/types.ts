// The API's records as the MOM's own OpenAPI document describes them (ui/openapi.json,
// which a test in svc-web keeps equal to the served one): `npm run check` generates
// api-types.ts from it with openapi-typescript, so a field the API renames or retypes
// fails the UI's type check instead of showing an empty cell.

import type { components } from "./api-types";

type Schemas = components["schemas"];

/** A user record. */
export type User = Schemas["User"];
/** A DECT phone record. */
export type Device = Schemas["Device"];
/** A row of the Overview: a user and its bound DECT phone. */
export type OverviewRow = Schemas["OverviewRow"];
/** An OMM record. */
export type Omm = Schemas["Omm"];
/** An OMM link's state. */
export type OmmHealth = Schemas["OmmHealth"];
/** A conference room. */
export type ConferenceRoom = Schemas["ConferenceRoom"];
/** An account as the API shows it. */
export type AccountView = Schemas["AccountView"];
/** An entry of the audit trail. */
export type AuditEntry = Schemas["AuditEntry"];
/** A health state. */
export type HealthState = Schemas["HealthState"];
/** The cluster as the node serving the page sees it. */
export type ClusterView = Schemas["ClusterView"];
/** One node of the cluster. */
export type NodeView = Schemas["NodeView"];
/** A record held back. */
export type Conflict = Schemas["Conflict"];
/** One finding of the provisioning check. */
export type LintFinding = Schemas["LintFinding"];
/** The provisioning check's answer. */
export type Lint = Schemas["Lint"];
/** One OMM's line of the provisioning preview. */
export type Preview = Schemas["Preview"];
/** The outcome of "Update OMM" for one OMM. */
export type UpdateResult = Schemas["UpdateResult"];
/** An API token, without its secret. */
export type TokenInfo = Schemas["TokenInfo"];
/** The version pane's facts. */
export type Version = Schemas["Version"];
/** The EULA and whether it must be accepted. */
export type Eula = Schemas["Eula"];
/** The license as the API shows it. */
export type LicenseView = Schemas["LicenseView"];
/** The TLS security settings and the suites rustls offers. */
export type Security = Schemas["Security"];
/** The certificate in use. */
export type CertificateInfo = Schemas["CertificateInfo"];
/** The result of a bulk import. */
export type ImportReport = Schemas["ImportReport"];
