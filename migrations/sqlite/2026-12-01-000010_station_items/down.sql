DROP TABLE station_items;
