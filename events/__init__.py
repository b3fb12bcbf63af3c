"""오늘의 이벤트 (today's event): viewer accounts, mileage earned by taking part, donations with
an exact ledger, live quizzes and provable prize draws."""
