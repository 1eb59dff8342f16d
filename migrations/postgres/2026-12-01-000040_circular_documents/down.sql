DROP TABLE circular_documents;
