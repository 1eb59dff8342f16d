DROP TABLE visit_requests;
