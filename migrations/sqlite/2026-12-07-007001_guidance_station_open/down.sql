DROP INDEX guidance_station_status;
