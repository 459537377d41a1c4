-- Records by creation time: each instance asks every second which customers
-- linked since it last looked (see `records::known`), so that the first
-- USSD hop of a customer who never linked costs no query.
CREATE INDEX records_newest ON records (owner, created_at);
