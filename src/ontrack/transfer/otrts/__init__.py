"""A participant's tracking record as an XML document shaped after the Offender Tracking
Record Transfer Service (OTRTS) Specification v1.0, and the importer that reads it back.

What is faithful and what is inferred — plainly:

* From the published description of OTRTS v1.0 (NIJ-funded, a Global Reference Architecture
  Service Specification Package approved by the Global Standards Council on 28 March 2016,
  NCJ 250723): the service moves one *offender tracking record* from one tracking system to
  another so that an agency changing provider keeps its history; the record holds the
  person's **demographics**, their **location data** and their **violation and alert data**;
  the exchange is NIEM-conformant XML. The document here carries exactly those three parts
  plus what they need to be read (the devices and when each was worn).
* Inferred, because the SSP's schema folder was not available to us: the element names of
  the exchange and extension namespace (``ot:``), the root ``ot:OffenderTrackingRecord``, and
  how alerts and location points are laid out. Person data uses NIEM Core 3.0 element names
  (``nc:PersonName``/``nc:PersonGivenName``/``nc:PersonSurName``, ``nc:PersonBirthDate``,
  ``nc:ContactInformation``, ``nc:Address``...) and references use NIEM ``structures``
  ``s:id``/``s:ref``, as a NIEM 3.0 IEPD of 2016 would. The ``ot:`` namespace is this
  program's own (``schema.OT_NS``), deliberately not pretending to be the specification's; a
  mapping to the official schema, once obtained, is a matter of renaming element names.

One module per direction, so each can be read alone:

* ``schema``: the namespaces and the names both directions share.
* ``export``: the record written out, streamed element by element in constant memory.
* ``reading``: a document parsed and validated into plain values, before anything is
  written; every refusal names the element path.
* ``importing``: those values written as a new participant, through the services of the
  apps that own them (participants, tracking's ``history_import``, alerts), all or nothing.

Decisions travel with their deciders: a closure carries who decided it, where they worked,
when and their note (``ot:SupervisionClosure*``), a resolution its resolver and their office
(``ot:AlertResolvedByText``, ``ot:AlertResolverOrganizationName``) beside its note and
closing time. On import they stay the original decider's, named as text with the import
recorded beside them, never the importing supervisor's; a record that claims an adverse
closure or a confirmed violation without a named decider is refused.
"""
