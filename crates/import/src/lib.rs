//! Importers: placeholder, filled in by the importer work.
